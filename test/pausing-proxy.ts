// A TCP proxy on an ephemeral loopback port that can go silent: while paused it forwards nothing in either
// direction and keeps every socket open, as a pulled cable or a dead switch does (no FIN, no RST: the peers
// only notice through their own timeouts). New connections are accepted and hang the same way. What was sent
// meanwhile is delivered on resume, as TCP's retransmission would once the cable is back.
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface PausingProxy {
  port: number;
  pause(): void;
  resume(): void;
}

export async function startPausingProxy(t: TestContext, targetPort: number): Promise<PausingProxy> {
  let paused = false;
  const sockets = new Set<Socket>();
  const held: (() => void)[] = [];
  const server = createServer((down) => {
    const up = connect(targetPort, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const forward = (to: Socket) => (d: Buffer) => (paused ? held.push(() => to.writable && to.write(d)) : to.write(d));
    down.on('data', forward(up));
    up.on('data', forward(down));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return {
    port: (server.address() as AddressInfo).port,
    pause: () => (paused = true),
    resume: () => {
      paused = false;
      for (const send of held.splice(0)) send();
    },
  };
}
