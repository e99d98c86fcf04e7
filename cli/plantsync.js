#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=30
// Entry point for `npx plantsync` in a checkout: Node 24 (from node_modules/.bin) runs the TypeScript directly.
// --max-semi-space-size=16 (MiB): a larger young generation lets per-message garbage die before it is copied;
// on this machine it cut the MQTT path's p99 latency by about a third. --heap-growing-percent=30: the old generation
// grows by 30% between full collections instead of V8's default (up to 4x): 5 s after a 200,000-message burst the
// agent held 231-237 MiB instead of 366-372, at the same CPU (BENCHMARKS.md). The same flags are in
// pkg.config.json (the single binary) and package.json (npm start); test/binary-smoke.ts checks they agree.
import './main.ts';
