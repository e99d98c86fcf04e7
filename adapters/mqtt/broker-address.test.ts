// The broker URL is read with the WHATWG URL parser and handed to mqtt.js as options (mqtt.js's own reading uses the
// deprecated url.parse()): IPv6, credentials, WebSocket paths and default ports read as mqtt.js read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerAddress } from './source.ts';

test('broker URLs become mqtt.js options: IPv6 without brackets, decoded credentials, WebSocket paths, default ports', () => {
  assert.deepEqual(brokerAddress('mqtts://gw-1000:p%40ss-%C3%A4@[::1]:8883'), { protocol: 'mqtts', host: '::1', port: 8883, username: 'gw-1000', password: 'p@ss-ä' });
  assert.deepEqual(brokerAddress('ws://broker.werk-2.example:9001/mqtt?x=1'), { protocol: 'ws', host: 'broker.werk-2.example', port: 9001, path: '/mqtt?x=1' });
  assert.deepEqual(brokerAddress('mqtt://127.0.0.1'), { protocol: 'mqtt', host: '127.0.0.1' });
});

test('a broker URL that is not mqtt://, mqtts://, ws:// or wss:// with a host is refused at validation, named by its path', async () => {
  const { parseConfig } = await import('../../agent/config.ts');
  const config = (url: string) => JSON.stringify({ agent: { id: 'gw', plant: '1000', stateDir: '/tmp/x' }, sources: { hall: { type: 'mqtt', url, subscriptions: [{ topic: 'a/#', qos: 1 }] } }, sinks: { erp: { type: 'memory' } }, routes: [{ sink: 'erp', types: '*' }] });
  for (const bad of ['broker.werk-2:1883', 'tcp://broker:1883', 'mqtt://', 'mqtt:// broker']) assert.throws(() => parseConfig(config(bad), 'gw.json'), /gw\.json: \/sources\/hall\/url/, bad);
  assert.doesNotThrow(() => parseConfig(config('mqtts://[::1]:8883'), 'gw.json'));
});
