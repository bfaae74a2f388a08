import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifySchema } from '../../src/config/classify.js';
import { createEventStage } from '../../src/event/stage.js';
import { exec, open, fdio } from './scenario.js';

test('createEventStage wires config defaults; events flow; strict config rejects unknown keys', () => {
  const cfg = classifySchema.parse({ grantedScopes: { '*': ['uid:*', 'gid:*'] } });
  assert.equal(cfg.holdbackMs, 1000);
  assert.throws(() => classifySchema.parse({ nope: 1 }));
  const st = createEventStage(cfg, { source: 'agentrail://n/1' });
  const types: string[] = [];
  st.builder.onEvent((e) => types.push(e.type));
  st.builder.onRaw(exec(10, 1, 1, '/usr/bin/node', ['node']));
  st.builder.onRaw(open(10, 2, '/home/u/.aws/credentials', 3));
  st.builder.onRaw(fdio(10, 3, 3, 120, 0));
  st.close();
  assert.deepEqual(types.sort(), ['dev.agentrail.data.access', 'dev.agentrail.data.access', 'dev.agentrail.identity.assertion']);
});

test('fd reuse: bytes of a suppressed file never land on an earlier file that closed without moving bytes', () => {
  const st = createEventStage(classifySchema.parse({}), { source: 'agentrail://n/1', readProc: false });
  const events: Array<{ type: string; data: Record<string, any> }> = [];
  st.builder.onEvent((e) => events.push(e as never));
  st.builder.onRaw(exec(20, 1, 1, '/usr/bin/python3', ['python3']));
  // A directory listed on fd 5: the kernel reports no fd.io for it (no read/write bytes).
  st.builder.onRaw(open(20, 2, '/srv/data', 5));
  // fd 5 reused by a module load (suppressed by the default globs), which reads 6481 bytes.
  st.builder.onRaw(open(20, 3, '/opt/py/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc', 5));
  st.builder.onRaw(fdio(20, 4, 5, 6481, 0));
  st.close();
  const access = events.filter((e) => e.type === 'dev.agentrail.data.access' && e.data.access_mode !== 'execute');
  assert.deepEqual(access.map((e) => [e.data.resource_uri, e.data.byte_count]), [['file:///srv/data', 0]]);
});
