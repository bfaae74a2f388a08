import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { repoRoot } from '../../src/paths.js';
import { d, exec, fdio, harness, mcpExchange, open } from './scenario.js';

const addFormats = addFormatsImport as unknown as (a: Ajv2020) => void;

/** Opens, reads `n` bytes and closes `path` as fd 7 at tMs. */
function readOnce(b: ReturnType<typeof harness>['b'], pid: number, tMs: number, path: string, n: number): void {
  b.onRaw(open(pid, tMs, path, 7));
  b.onRaw(fdio(pid, tMs + 1, 7, n, 0));
}

const files = (events: ReturnType<typeof harness>['events'], path: string) => events.filter((e) => e.type === 'dev.agentrail.data.access' && String(d(e).resource_uri).endsWith(path)).map(d);

test('repeated reads of one file by one process become one data.access with exact byte sums (aggregateWindowMs)', () => {
  const sizes = Array.from({ length: 30 }, (_, i) => 100 + i * 7);
  const expected = sizes.reduce((a, b) => a + b, 0);
  for (const windowMs of [0, 5000]) {
    const { b, events } = harness({ aggregateWindowMs: windowMs });
    b.onRaw(exec(500, 1, 1, '/usr/bin/python3', ['python3', 'agent.py']));
    sizes.forEach((n, i) => readOnce(b, 500, 10 + i * 10, '/data/report.csv', n));
    readOnce(b, 500, 400, '/data/other.csv', 5);
    b.onRaw(open(500, 410, '/data/secret.csv', -13)); // a denied open is never merged
    b.onRaw(open(500, 420, '/data/secret.csv', -13));
    b.flush();
    const reads = files(events, '/data/report.csv');
    if (windowMs === 0) {
      assert.equal(reads.length, 30, 'off by default: one event per access');
      assert.ok(reads.every((r) => r.aggregate === undefined));
    } else {
      assert.equal(reads.length, 1);
      assert.equal(reads[0]!.bytes_read, expected);
      assert.equal(reads[0]!.byte_count, expected);
      assert.deepEqual({ ...reads[0]!.aggregate, last_time: undefined }, { count: 30, window_ms: 5000, last_time: undefined });
      assert.ok(reads[0]!.aggregate.last_time > reads[0]!.ts, 'the last access is later than the first');
      const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
      addFormats(ajv);
      const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', 'data.access.json'), 'utf8')));
      const ev = events.find((e) => d(e) === reads[0]);
      assert.ok(validate(JSON.parse(JSON.stringify(ev))), JSON.stringify(validate.errors));
    }
    assert.equal(files(events, '/data/other.csv').length, 1, 'another file stays apart');
    assert.equal(files(events, '/data/other.csv')[0]!.aggregate, undefined, 'a single access carries no aggregate');
    assert.equal(files(events, '/data/secret.csv').length, 2, 'failures are never merged');
  }
});

test('accesses in different tool windows, or across a policy cut, or past the window, are never merged', () => {
  let now = 1_000_000;
  const { b, events } = harness({ aggregateWindowMs: 10_000, holdbackMs: 100, nowMs: () => now });
  b.onRaw(exec(600, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  // Two MCP tool calls, each reading the file twice inside its own window.
  for (const t of [100, 300]) {
    readOnce(b, 600, t + 10, '/srv/db.json', 10);
    readOnce(b, 600, t + 20, '/srv/db.json', 20);
    b.onExchange(mcpExchange(600, t, 50, { method: 'tools/call', toolName: 'query', arguments: { path: '/srv/db.json' }, result: { content: [] } }));
  }
  b.flush();
  const byWindow = files(events, '/srv/db.json');
  assert.equal(byWindow.length, 2);
  assert.notEqual(byWindow[0]!.triggering_event_id, byWindow[1]!.triggering_event_id);
  for (const r of byWindow) assert.equal(r.bytes_read, 30);

  // A cut (the pipeline calls it when a policy decision concerns the session).
  const before = events.length;
  readOnce(b, 600, 1000, '/srv/log.txt', 1);
  readOnce(b, 600, 1010, '/srv/log.txt', 2);
  now += 200;
  b.tick(); // released from the hold-back into the aggregator
  const session = String(d(events.find((e) => e.type === 'dev.agentrail.data.access')).agent_session_id);
  b.cut(session);
  readOnce(b, 600, 1020, '/srv/log.txt', 4);
  now += 200;
  b.tick();
  // Past the window: a new aggregate.
  now += 20_000;
  b.tick();
  readOnce(b, 600, 1030, '/srv/log.txt', 8);
  b.flush();
  const logs = files(events.slice(before), '/srv/log.txt');
  assert.deepEqual(logs.map((r) => r.bytes_read), [3, 4, 8]);
  assert.deepEqual(logs.map((r) => r.aggregate?.count ?? 1), [2, 1, 1]);
});
