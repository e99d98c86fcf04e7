// Security: SignAndEncrypt against a simulator that offers nothing else. The server's certificate (made by
// node-opcua in the test) is unknown to the agent, so it is rejected and kept until a person trusts it with
// `plantsync opcua trust`; then the session comes up with a username identity and values flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, tempDir, until } from '../../test/helpers.ts';
import { agentConfig, postedYield, pressNodes, startAgent, startSim } from './sim/test-kit.ts';

const cli = (...args: string[]) => execFileSync(process.execPath, [join(import.meta.dirname, '../../cli/main.ts'), ...args], { encoding: 'utf8' });

test('SignAndEncrypt: an unknown server certificate is rejected until trusted from the CLI, then the session comes up with a username', async (t) => {
  const sim = await startSim(t, { securityModes: ['SignAndEncrypt'], users: { operator: 'press-1' }, allowAnonymous: false });
  const dir = tempDir(t);
  writeFileSync(join(dir, 'opcua-password'), 'press-1\n');
  const nodes = pressNodes(sim).filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name));
  const config = agentConfig(dir, {
    endpoint: sim.endpoint,
    securityMode: 'SignAndEncrypt',
    securityPolicy: 'Basic256Sha256',
    identity: { type: 'username', username: 'operator', password: `\${file:${join(dir, 'opcua-password')}}` },
    nodes,
  });
  const configFile = join(dir, 'plantsync.json');
  writeFileSync(configFile, JSON.stringify(config));
  const agent = await startAgent(t, config);
  const status = () => agent.sources.get('press')!.status();

  await until(() => status().reconnects >= 1, 'a first attempt failed');
  await sleep(500);
  assert.equal(status().connected, false, 'an unknown server is not trusted');
  // What `plantsync status` prints on the source's line: the reason and the way out.
  assert.match(status().lastError ?? '', /certificate.*plantsync opcua certs --config <file>, then plantsync opcua trust <thumbprint>/i, status().lastError);
  const certs = JSON.parse(cli('opcua', 'certs', '--config', configFile, '--json')) as { status: string; thumbprint: string; applicationUri: string }[];
  const rejected = certs.filter((c) => c.status === 'rejected');
  assert.equal(rejected.length, 1, JSON.stringify(certs));
  assert.equal(rejected[0]!.applicationUri, sim.serverUri);
  assert.ok(certs.some((c) => c.status === 'own'), "the agent's own certificate, made on first use");

  assert.match(cli('opcua', 'trust', rejected[0]!.thumbprint.slice(0, 12), '--config', configFile), /^trusted /);
  await until(() => status().connected, 'connected once trusted', 30_000);
  assert.equal(status().lastError, undefined, 'connected: nothing to explain');
  await sleep(300);
  sim.addParts(3);
  await until(() => postedYield(agent) === 3, 'values flow over the encrypted session');
  const after = JSON.parse(cli('opcua', 'certs', '--config', configFile, '--json')) as { status: string }[];
  assert.deepEqual(after.map((c) => c.status).sort(), ['own', 'trusted']);
});

test('a wrong password never gets a session', async (t) => {
  const sim = await startSim(t, { users: { operator: 'press-1' }, allowAnonymous: false, securityModes: ['None'] });
  const dir = tempDir(t);
  const nodes = pressNodes(sim).filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name));
  const agent = await startAgent(t, agentConfig(dir, { endpoint: sim.endpoint, identity: { type: 'username', username: 'operator', password: 'wrong' }, nodes }));
  await until(() => agent.sources.get('press')!.status().reconnects >= 2, 'retried');
  assert.equal(agent.sources.get('press')!.status().connected, false);
});

test('every security policy the agent offers connects: Sign with Aes128_Sha256_RsaOaep, SignAndEncrypt with Aes256_Sha256_RsaPss', async (t) => {
  const sim = await startSim(t, { securityModes: ['Sign', 'SignAndEncrypt'] });
  for (const [securityMode, securityPolicy] of [['Sign', 'Aes128_Sha256_RsaOaep'], ['SignAndEncrypt', 'Aes256_Sha256_RsaPss']] as const) {
    const dir = tempDir(t);
    const config = agentConfig(dir, { endpoint: sim.endpoint, securityMode, securityPolicy, nodes: pressNodes(sim).filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name)) });
    const configFile = join(dir, 'plantsync.json');
    writeFileSync(configFile, JSON.stringify(config));
    const agent = await startAgent(t, config);
    await until(() => agent.sources.get('press')!.status().reconnects >= 1, `${securityPolicy}: first attempt refused (server not trusted yet)`);
    const [rejected] = (JSON.parse(cli('opcua', 'certs', '--config', configFile, '--json')) as { status: string; thumbprint: string }[]).filter((c) => c.status === 'rejected');
    cli('opcua', 'trust', rejected!.thumbprint, '--config', configFile);
    await until(() => agent.sources.get('press')!.status().connected, `${securityMode} / ${securityPolicy} connected`, 30_000);
    await sleep(300);
    const before = postedYield(agent);
    sim.addParts(2);
    await until(() => postedYield(agent) === before + 2, `${securityPolicy}: values flow`);
    await agent.stop(500);
  }
});

test('an X.509 user certificate (made with openssl in the test) gets a session where anonymous access is off', async (t) => {
  const { makeUserCertificate } = await import('../../test/certificates.ts');
  const sim = await startSim(t, { allowAnonymous: false, securityModes: ['SignAndEncrypt'] }); // X.509 users need a secure channel
  const dir = tempDir(t);
  const user = makeUserCertificate(dir, 'press-operator');
  const nodes = pressNodes(sim).filter((n) => ['PRESS-01/parts', 'order', 'operation'].includes(n.name));
  const config = agentConfig(dir, { endpoint: sim.endpoint, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', identity: { type: 'certificate', certificate: user.cert, privateKey: user.key }, nodes });
  const configFile = join(dir, 'plantsync.json');
  writeFileSync(configFile, JSON.stringify(config));
  const agent = await startAgent(t, config);
  await until(() => agent.sources.get('press')!.status().reconnects >= 1, 'server not trusted yet');
  const [rejected] = (JSON.parse(cli('opcua', 'certs', '--config', configFile, '--json')) as { status: string; thumbprint: string }[]).filter((c) => c.status === 'rejected');
  cli('opcua', 'trust', rejected!.thumbprint, '--config', configFile);
  await until(() => agent.sources.get('press')!.status().connected, 'connected with the user certificate', 20_000);
  await sleep(300);
  sim.addParts(4);
  await until(() => postedYield(agent) === 4, 'values flow');
});
