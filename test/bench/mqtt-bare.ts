// A bare mqtt.js QoS 1 subscriber in its own process: the yardstick the MQTT benchmark sets plantsync beside.
//   node mqtt-bare.ts <url> <topic>
// Prints "ready" once subscribed; on SIGTERM prints one JSON line: how many messages came, when the first and last
// came (epoch ms) and each one's publish -> receive latency (ms), from the send time the publisher put in it.
import { connectAsync } from 'mqtt';

const [url, topic] = process.argv.slice(2) as [string, string];
const sub = await connectAsync(url, { protocolVersion: 5, clean: true, properties: { receiveMaximum: 1000 } });
const latencies: number[] = [];
let first = 0;
let last = 0;
sub.on('message', (_t, m) => {
  last = Date.now();
  first ||= last;
  latencies.push(last - (JSON.parse(m.toString()) as { t: number }).t);
});
await sub.subscribeAsync(topic, { qos: 1 });
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ count: latencies.length, first, last, latencies })}\n`, () => process.exit(0));
});
console.log('ready');
