import http from 'node:http';
import net from 'node:net';
import type { Tap } from './h2-capture.js';

/** An HTTP/1.1 server behind a loopback relay that records every byte, per connection, in order. */
export async function tappedHttpServer(handler: http.RequestListener): Promise<{ port: number; taps: Tap[]; close: () => Promise<void> }> {
  const hs = http.createServer(handler);
  await new Promise<void>((r) => hs.listen(0, '127.0.0.1', r));
  const sport = (hs.address() as net.AddressInfo).port;
  const taps: Tap[] = [];
  const relay = net.createServer((down) => {
    const tap: Tap = [];
    taps.push(tap);
    const up = net.connect(sport, '127.0.0.1');
    down.on('data', (b: Buffer) => (tap.push({ dir: 0, buf: Buffer.from(b) }), up.write(b)));
    up.on('data', (b: Buffer) => (tap.push({ dir: 1, buf: Buffer.from(b) }), down.write(b)));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    port: (relay.address() as net.AddressInfo).port,
    taps,
    close: async () => {
      hs.closeAllConnections();
      await new Promise((r) => hs.close(r));
      await new Promise((r) => relay.close(r));
    },
  };
}
