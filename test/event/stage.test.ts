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
