import test from 'node:test';
import assert from 'node:assert/strict';
import { protocolSchema, toProtocolOptions } from '../../src/config/protocol.js';
import { ProtocolStage } from '../../src/protocol/protocol-stage.js';

test('protocol config section: defaults, strictness, mapping onto stage options', () => {
  const p = protocolSchema.parse({});
  assert.equal(p.idleTimeoutMs, 300_000);
  assert.throws(() => protocolSchema.parse({ bogus: 1 }));
  assert.throws(() => protocolSchema.parse({ maxBodyBytes: 10 }));
  const o = toProtocolOptions(protocolSchema.parse({ idleTimeoutMs: 5000, maxBodyBytes: 4096 }), { tlsCap: 8192, pipeCap: 2048 });
  const stage = new ProtocolStage(o);
  assert.equal(stage.options.idleTimeoutNs, 5_000_000_000n);
  assert.equal(stage.options.maxBodyBytes, 4096);
  assert.equal(stage.options.tlsCaptureCap, 8192);
  assert.equal(stage.options.pipeCaptureCap, 2048);
});
