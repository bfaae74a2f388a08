import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { buildSelection } from '../../src/source/selection.js';

test('collector config: defaults, validation, strictness', () => {
  const c = parseConfig({}).collector;
  assert.equal(c.kind, 'native');
  assert.equal(c.tlsCap, 2 * 1024 * 1024);
  assert.equal(c.ringBytes, 16 * 1024 * 1024);
  assert.deepEqual(c.selection, { all: false, pids: [], cgroups: [], comms: [] });
  assert.equal(parseConfig({ collector: { kind: 'bpftrace', selection: { comms: ['python3'] } } }).collector.selection.comms[0], 'python3');
  assert.throws(() => parseConfig({ collector: { ringBytes: 5000 } }), /collector\.ringBytes/);
  // one captured call must fit the ring buffer
  assert.throws(() => parseConfig({ collector: { ringBytes: 1 << 20 } }), /collector\.tlsCap/);
  assert.equal(parseConfig({ collector: { ringBytes: 1 << 20, tlsCap: 256 * 1024 } }).collector.tlsCap, 256 * 1024);
  assert.throws(() => parseConfig({ collector: { kind: 'dtrace' } }), /collector\.kind/);
  assert.throws(() => parseConfig({ collector: { selection: { pid: [1] } } }), /unknown key/);
  assert.throws(() => parseConfig({ collector: { selection: { comms: ['a-name-longer-than-15'] } } }), /collector\.selection\.comms/);
});

test('selection: CLI flags override the config; numeric cgroup ids and paths resolve', () => {
  const cfg = parseConfig({ collector: { selection: { pids: [7], cgroups: [123] } } }).collector.selection;
  assert.deepEqual(buildSelection(cfg, {}), { all: false, pids: [7], cgroupIds: [123n], comms: [] });
  assert.deepEqual(buildSelection(cfg, { comms: ['x'] }), { all: false, pids: [], cgroupIds: [], comms: ['x'] });
  const root = buildSelection(cfg, { cgroups: ['/sys/fs/cgroup'] });
  assert.equal(typeof root.cgroupIds[0], 'bigint');
  assert.throws(() => buildSelection(cfg, { cgroups: ['/no/such/cgroup'] }), /USAGE|not found/);
});
