#!/usr/bin/env node
// Entry point for `npx plantsync` in a checkout: Node 24 (from node_modules/.bin) runs the TypeScript directly.
import './main.ts';
