// Deterministic workload for the collector tests (bpftrace source, native vs
// bpftrace agreement, benchmark): files with known byte counts, an exec with
// a known exit code, a TCP connect and one HTTPS POST with a known body.
// usage: node collector-workload.mjs DATA_IN FILE_OUT TCP_PORT HTTPS_PORT CA_PATH [BODY_BYTES]
import { openSync, readSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import https from 'node:https';

const [dataIn, fileOut, tcpPort, httpsPort, caPath, bodyBytes = '1000'] = process.argv.slice(2);

// 1. read a known file in 4096-byte reads
const fd = openSync(dataIn, 'r');
const buf = Buffer.alloc(4096);
while (readSync(fd, buf, 0, buf.length, null) > 0);
closeSync(fd);

// 2. write 10,000 bytes in 1,000-byte writes
const out = openSync(fileOut, 'w');
for (let i = 0; i < 10; i++) writeSync(out, Buffer.alloc(1000, 0x61));
closeSync(out);

// 3. exec a child that writes a line into its stdout pipe and exits with 3
spawnSync('/bin/sh', ['-c', 'echo pipe-payload; exit 3']);

// 4. plain TCP connect
await new Promise((resolve) => {
  const s = net.connect(Number(tcpPort), '127.0.0.1', () => s.end());
  s.on('close', resolve);
  s.on('error', resolve);
});

// 5. one HTTPS POST with a known body
if (httpsPort && httpsPort !== '0') {
  const body = Buffer.alloc(Number(bodyBytes), 0x62);
  await new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: Number(httpsPort), method: 'POST', path: '/collector', ca: readFileSync(caPath), agent: false, headers: { 'content-length': body.length } },
      (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
process.exitCode = 0;
