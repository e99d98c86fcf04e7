#!/usr/bin/env -S node --max-semi-space-size=16
// Entry point for `npx plantsync` in a checkout: Node 24 (from node_modules/.bin) runs the TypeScript directly.
// --max-semi-space-size=16 (MiB): a larger young generation lets per-message garbage die before it is copied;
// on this machine it cut the MQTT path's p99 latency by about a third (BENCHMARKS.md).
import './main.ts';
