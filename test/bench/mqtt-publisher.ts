// A paced QoS 1 publisher in its own process, for latency benchmarks: each message carries its send time.
//   node mqtt-publisher.ts <url> <topic> <messages per second> <seconds> <first seq>
import { connectAsync } from 'mqtt';

const [url, topic, rate, seconds, first] = process.argv.slice(2) as [string, string, string, string, string];
const pub = await connectAsync(url, { protocolVersion: 5 });
const perTick = Number(rate) / 100;
let seq = Number(first);
const end = Date.now() + Number(seconds) * 1000;
let next = Date.now();
while (Date.now() < end) {
  for (let i = 0; i < perTick; i++) {
    seq++;
    void pub.publishAsync(topic, JSON.stringify({ seq, t: Date.now(), order: `PO${seq % 20}` }), { qos: 1 });
  }
  next += 10;
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
}
await new Promise((r) => setTimeout(r, 500));
await pub.endAsync();
console.log(seq);
