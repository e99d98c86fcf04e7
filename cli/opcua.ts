// `plantsync opcua certs|trust`: the OPC UA sources' PKI under the agent's state directory. An unknown server
// certificate is rejected (and kept in rejected/) until a person trusts it; `certs` lists own, trusted and rejected
// certificates with their thumbprints, `trust <thumbprint>` moves one from rejected to trusted. The agent picks the
// change up on its next connection attempt. `plantsync opcua-sim` runs the simulated press line.
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../agent/config.ts';
import { loadConfigFiles } from '../agent/config-files.ts';
import { pkiDir } from '../agent/state-paths.ts';

interface CertInfo {
  status: 'own' | 'trusted' | 'rejected';
  thumbprint: string;
  subject: string;
  applicationUri: string;
  validTo: string;
  file: string;
}

function certsIn(dir: string, status: CertInfo['status']): CertInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pem|der)$/.test(f))
    .map((f) => {
      const file = join(dir, f);
      const c = new X509Certificate(readFileSync(file));
      return {
        status,
        thumbprint: c.fingerprint.replace(/:/g, '').toLowerCase(),
        subject: c.subject.replace(/\n/g, ', '),
        applicationUri: /URI:([^,]+)/.exec(c.subjectAltName ?? '')?.[1] ?? '',
        validTo: new Date(c.validTo).toISOString(),
        file,
      };
    });
}

export function listCertificates(root: string): CertInfo[] {
  return [...certsIn(join(root, 'own', 'certs'), 'own'), ...certsIn(join(root, 'trusted', 'certs'), 'trusted'), ...certsIn(join(root, 'rejected'), 'rejected')];
}

function pkiOf(configPath: string): string {
  return pkiDir(loadConfigFiles(configPath).config.agent.stateDir, 'opcua');
}

export function register(program: Command): void {
  const opcua = program.command('opcua').description('OPC UA sources: server certificates (list, trust)');
  opcua
    .command('certs')
    .description('list the own, trusted and rejected certificates of the OPC UA PKI')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .option('--json', 'one JSON array, for scripts')
    .action((o: { config: string; json?: boolean }) => {
      const list = withConfig(() => listCertificates(pkiOf(o.config)));
      if (!list) return;
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      if (!list.length) return console.log('no certificates yet (the agent creates its own on its first secure connection)');
      for (const c of list) console.log(`${c.status.padEnd(8)} ${c.thumbprint.slice(0, 16)}  ${c.applicationUri || c.subject}  valid to ${c.validTo.slice(0, 10)}`);
      if (list.some((c) => c.status === 'rejected')) console.log('\ntrust a server with: plantsync opcua trust <thumbprint> --config ...');
    });
  opcua
    .command('trust <thumbprint>')
    .description('trust a rejected server certificate (by thumbprint or its first 8+ characters)')
    .requiredOption('-c, --config <path>', 'config file', '/etc/plantsync/plantsync.json')
    .action(async (thumbprint: string, o: { config: string }) => {
      const root = withConfig(() => pkiOf(o.config));
      if (!root) return;
      const want = thumbprint.replace(/:/g, '').toLowerCase();
      const matches = listCertificates(root).filter((c) => c.status === 'rejected' && want.length >= 8 && c.thumbprint.startsWith(want));
      if (matches.length !== 1) {
        console.error(matches.length ? `'${thumbprint}' matches ${matches.length} rejected certificates: give more of it` : `no rejected certificate with thumbprint '${thumbprint}' (see: plantsync opcua certs)`);
        process.exitCode = 1;
        return;
      }
      const c = matches[0]!;
      const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
      const cm = new OPCUACertificateManager({ rootFolder: root, automaticallyAcceptUnknownCertificate: false });
      await cm.initialize();
      await cm.trustCertificate(new X509Certificate(readFileSync(c.file)).raw);
      if (existsSync(c.file)) rmSync(c.file);
      await cm.dispose();
      console.log(`trusted ${c.applicationUri || c.subject} (${c.thumbprint})`);
    });

  program
    .command('opcua-sim')
    .description('run the simulated press line as an OPC UA server (all security modes; a shift runs on its own)')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', '4840')
    .option('--pki <dir>', "the simulator's certificate folder", './opcua-sim-pki')
    .option('--tick <ms>', 'one step of the shift every this many ms', '1000')
    .option('--user <user:password>', 'accept this user (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--duration <s>', 'stop after this many seconds')
    .action(async (o: { port: string; pki: string; tick: string; user: string[]; duration?: string }) => {
      const users = Object.fromEntries(o.user.map((u) => [u.slice(0, u.indexOf(':')), u.slice(u.indexOf(':') + 1)]));
      const { PressLineSim } = await import('../adapters/opcua/sim/press-line.ts'); // node-opcua's server: only for this verb
      const sim = await PressLineSim.start({ port: Number(o.port), pkiDir: o.pki, tickMs: Number(o.tick), users });
      console.log(`opcua-sim listening on ${sim.endpoint} (server ${sim.serverUri})`);
      for (const [k, v] of Object.entries(sim.nodeIds)) console.log(`  ${k.padEnd(12)} ${v}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (o.duration) setTimeout(resolve, Number(o.duration) * 1000);
      });
      await sim.stop();
    });
}

function withConfig<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exitCode = 2;
    return undefined;
  }
}
