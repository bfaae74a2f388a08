/**
 * Pipe/stdio message hashes (issue 12, item 1), on the real sensor: an agent runs `tr` and `cat` as
 * local tools over their stdin/stdout (no JSON-RPC). Each stdio channel between the agent and a tool
 * is a data.access of the agent's end (`pipe:<inode>`, resource_type `pipe`): the bytes it wrote are
 * the request (what the tool read), the bytes it read the response (what the tool wrote), each with
 * its byte count and a hash computed here independently (keyed under 64 bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { requireKernel } from '../helpers/privileges.js';
import { startSensor } from '../helpers/sensor-process.js';
import { spawnStoppedAgent } from '../helpers/stopped-agent.js';

type Ev = { type: string; data: Record<string, any> };

test('a local tool over stdin/stdout: request_hash and response_hash of the exact bytes, with byte counts, on the pipe data.access', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = mkdtempSync(join(tmpdir(), 'agentrail-pipes-'));
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
  const keyDir = join(work, 'keys');
  const cfg = join(work, 'agentrail.yaml');
  writeFileSync(cfg, ['observability:', '  httpEnabled: false', 'seal:', `  keyDir: ${keyDir}`, ''].join('\n'));
  const { agent, output } = await spawnStoppedAgent(children, 'node-pipe-tools.mjs', {});
  const logDir = join(work, 'log');
  const sensor = await startSensor(children, agent.pid!, logDir, cfg);
  process.kill(agent.pid!, 'SIGCONT');
  assert.equal(await new Promise<number | null>((r) => agent.on('exit', (c) => r(c))), 0, output());
  await new Promise((r) => setTimeout(r, 1500)); // exits and closes drain
  await sensor.stop();

  const seen = JSON.parse(output().trim().split('\n').at(-1)!) as { pid: number; tools: Array<{ name: string; request: string; response: string }>; pyPid: number; py: { request: string; response: string } };
  const events = readdirSync(join(logDir, 'segments')).flatMap((f) => readFileSync(join(logDir, 'segments', f), 'utf8').split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Ev);
  const all = events.filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_type === 'pipe');
  const pipes = all.filter((e) => e.data.process?.pid === seen.pid);
  t.diagnostic(JSON.stringify(all.map((p) => [p.data.resource_uri, p.data.process?.pid, p.data.process?.comm, p.data.process?.ppid, p.data.access_mode, p.data.bytes_written, p.data.bytes_read, p.data.request_hash, p.data.response_hash])));
  for (const tool of seen.tools) {
    const req = expectedContentHash(tool.request, keyDir);
    const res = expectedContentHash(tool.response, keyDir);
    // The request and the response each crossed the agent's end of the tool's stdio.
    const sent = pipes.find((p) => p.data.request_hash === req);
    assert.ok(sent, `${tool.name}: a pipe data.access whose request_hash is the hash of the bytes the agent wrote (${req})`);
    assert.equal(sent.data.process?.pid, seen.pid, `${tool.name}: attributed to the agent`);
    assert.equal(sent.data.bytes_written, Buffer.byteLength(tool.request));
    assert.match(sent.data.resource_uri, /^pipe:\d+$/);
    const back = pipes.find((p) => p.data.response_hash === res);
    assert.ok(back, `${tool.name}: a pipe data.access whose response_hash is the hash of the bytes the agent read (${res})`);
    assert.equal(back.data.process?.pid, seen.pid);
    assert.equal(back.data.bytes_read, Buffer.byteLength(tool.response));
    assert.equal(back.data.content_hash, res);
  }
  // Reported once, from the agent's end: the tools' own stdin/stdout ends are not separate events.
  const toolHashes = new Set(seen.tools.flatMap((x) => [expectedContentHash(x.request, keyDir), expectedContentHash(x.response, keyDir)]));
  const carriers = all.filter((e) => toolHashes.has(e.data.request_hash) || toolHashes.has(e.data.response_hash));
  assert.deepEqual([...new Set(carriers.map((e) => e.data.process?.pid))], [seen.pid], "no event from a tool's own stdio end");
  // Real pipes (one inode, the runner and tr both on it): the runner's end, found as tr's ancestor.
  const pyIn = all.find((e) => e.data.process?.pid === seen.pyPid && e.data.request_hash === expectedContentHash(seen.py.request, keyDir));
  assert.ok(pyIn, 'the Python runner wrote the request into tr\'s stdin pipe');
  assert.equal(pyIn.data.bytes_written, Buffer.byteLength(seen.py.request));
  const pyOut = all.find((e) => e.data.process?.pid === seen.pyPid && e.data.response_hash === expectedContentHash(seen.py.response, keyDir));
  assert.ok(pyOut, 'the Python runner read tr\'s answer from its stdout pipe');
  assert.equal(pyOut.data.bytes_read, Buffer.byteLength(seen.py.response));
  // The short exchange is keyed: a plain SHA-256 guess of `ok?\n` is nowhere.
  assert.match(expectedContentHash('ok?\n', keyDir), /^hmac-sha256:/);
  const text = JSON.stringify(pipes);
  assert.ok(!text.includes('quarterly numbers') && !text.includes('QUARTERLY'), 'no plaintext');
});
