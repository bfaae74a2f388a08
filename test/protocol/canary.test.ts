import test from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { registry } from '../../src/observability/metrics.js';
import { Capture, httpRequest, httpResponse, pipeEvent, run } from './capture.js';

/**
 * Plaintext never leaves the stage: stats, metric labels and anything the
 * stage could print carry reasons and counts, not captured bytes, even when
 * the input is malformed in every way the stage counts.
 */
test('canary secrets in paths, headers, bodies and garbage never reach stats or metrics', async () => {
  const CANARY = 'CANARY-7f3a9c-sk-live-4242';
  const c = new Capture();
  const stderr: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => (stderr.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const { stage } = run([
      ...c.call(0, Buffer.from(`${CANARY} garbage\r\n`)),
      ...c.call(0, httpRequest('POST', `/v1/chat/completions?key=${CANARY}`, { Host: 'h', Authorization: `Bearer ${CANARY}`, 'Content-Encoding': 'gzip' }, `{"model":"${CANARY}","messages":[{"role":"user","content":"${CANARY}"}]}`)),
      ...c.call(1, httpResponse(200, { 'Content-Encoding': 'br', 'X-Secret': CANARY }, Buffer.from(CANARY))),
      ...c.call(0, Buffer.from(`POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz${CANARY}\r\n`)),
      ...c.call(0, Buffer.from(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${CANARY}`)),
      pipeEvent(1, 5n, 0, Buffer.from(`{"jsonrpc":"2.0","id":"${CANARY}","method":"tools/call","params":{"name":"${CANARY}"}}\n{${CANARY}\n`), 1n),
      pipeEvent(1, 6n, 1, Buffer.from(`{"jsonrpc":"2.0","id":"x${CANARY}","result":{"content":[{"type":"text","text":"${CANARY}"}]}}\n`), 2n),
      ...c.call(1, zlib.gzipSync(CANARY)),
    ]);
    const stats = JSON.stringify(stage.stats());
    assert.ok(Object.keys(stage.stats().errors).length > 0, 'the malformed input was counted');
    assert.ok(!stats.includes('CANARY'), stats);
    assert.ok(!(await registry.metrics()).includes('CANARY'));
    assert.ok(!stderr.join('').includes('CANARY'));
  } finally {
    process.stderr.write = orig;
  }
});
