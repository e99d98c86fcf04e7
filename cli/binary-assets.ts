// Runs first in the single binary (cli/binary-main.ts). Files that code expects on disk travel inside the binary
// as assets (pkg.config.json) and are unpacked once into a cache folder: better-sqlite3's native addon (loaded
// with process.dlopen: a binary's require() reaches only Node's built-in modules) and what node-opcua reads next
// to its own modules (the OPC UA standard nodeset the simulator loads, node-opcua-server's package.json). The
// bundle's `import.meta.dirname` points into that folder (esbuild --define in .ci/package.ts).
//
// The folder: $PLANTSYNC_CACHE_DIR (the unit sets /var/cache/plantsync), else $XDG_CACHE_HOME/plantsync or
// ~/.cache/plantsync, else a per-user folder under the temp dir. It must allow executing (the addon is loaded from
// it) and must not be writable by others (anyone who could swap the addon could run code as the agent), so it is
// made 0700 and its owner checked. One subfolder per binary version: an upgrade never loads an older addon.
import { chmodSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import * as sea from 'node:sea';
import { useSqliteAddon } from '../spool/open.ts';
import { PAGE_FILES } from '../agent/status-page.ts';

declare const PLANTSYNC_BUILD_ID: string; // set by the package script: the bundle's content hash

/** Where to unpack: $PLANTSYNC_CACHE_DIR if set (it must work), else the first of the usual places that does. */
function cacheRoots(): string[] {
  if (process.env.PLANTSYNC_CACHE_DIR) return [process.env.PLANTSYNC_CACHE_DIR];
  const roots: string[] = [];
  const xdg = process.env.XDG_CACHE_HOME ?? (homedir() ? join(homedir(), '.cache') : '');
  if (xdg) roots.push(join(xdg, 'plantsync'));
  roots.push(join(tmpdir(), `plantsync-${userInfo().uid}`));
  return roots;
}

function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`${dir}: owned by uid ${st.uid}, not by this user: refusing to load code from it`);
  if (st.mode & 0o022) chmodSync(dir, st.mode & ~0o022);
}

/** Writes an asset unless the same-sized file is already there; by rename, so a concurrent start never sees half. */
function unpack(dir: string, asset: string, file: string): string {
  const path = join(dir, file);
  const data = sea.getRawAsset(asset);
  if (existsSync(path) && statSync(path).size === data.byteLength) return path;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(data), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** The build's own folder under the first cache root that can be made private; the reasons when none can. */
function buildDir(): string {
  const problems: string[] = [];
  for (const root of cacheRoots()) {
    try {
      privateDir(root);
      const dir = join(root, PLANTSYNC_BUILD_ID);
      privateDir(dir);
      return dir;
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  console.error(`plantsync: no folder to unpack the native SQLite addon into (set PLANTSYNC_CACHE_DIR): ${problems.join('; ')}`);
  process.exit(1);
}

if (sea.isSea()) {
  const dir = buildDir();
  const mod = { exports: {} as object };
  process.dlopen(mod, unpack(dir, 'better_sqlite3.node', 'better_sqlite3.node'));
  useSqliteAddon(mod.exports);
  // node-opcua looks for `<its dirname>/../nodesets/*` and `<its dirname>/../package.json`.
  (globalThis as { __plantsyncModuleDir?: string }).__plantsyncModuleDir = join(dir, 'lib');
  unpack(dir, 'package.json', 'package.json');
  for (const f of ['Opc.Ua.NodeSet2.xml', 'Opc.Ua.NodeSet2.ndjson.gz']) {
    // The nodesets only matter to the simulator (demo, opcua-sim): unpacked on the first start of this version.
    unpack(dir, f, join('nodesets', f));
  }
  // The status page's files (agent/status-page.ts reads them from `<its dirname>/page/`).
  for (const f of PAGE_FILES) unpack(dir, `page/${f}`, join('lib', 'page', f));
}
