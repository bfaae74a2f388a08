/**
 * The `kernel:` block of a rule (docs/policy.md "Kernel enforcement"): what is
 * accepted at load, what is one clear error line, how rules become the lists
 * and how the lists are laid out in bpf/enforce.bpf.c's LPM keys (expected
 * bytes written out by hand from agentrail_abi.h, not computed by the code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentrailError } from '../../src/errors.js';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { compileRules } from '../../src/policy/rule-file.js';
import { enforceListsOf, parseDestination, RuleIndex } from '../../src/policy/kernel-lists.js';
import { addrKey, NativeKernelEnforcer, pathKey } from '../../src/policy/kernel-enforcer.js';

function rule(kernel: string, extra = 'decision: deny\n    enforcement: enforce'): string {
  return `version: 1
rules:
  - id: K1
    description: kernel lists
    severity: high
    ${extra}
    kernel:
${kernel}
`;
}

function loadError(text: string): AgentrailError {
  try {
    compileRules(text, 'rules.yaml');
  } catch (e) {
    assert.ok(e instanceof AgentrailError);
    return e;
  }
  assert.fail('expected the rule file to be rejected');
}

test('destinations: addresses, CIDRs and ports of both families; host names and bad ports rejected', () => {
  assert.deepEqual(parseDestination('10.1.2.3'), { family: 4, bytes: [10, 1, 2, 3], prefixLen: 32, port: 0 });
  assert.deepEqual(parseDestination('10.0.0.0/8:443'), { family: 4, bytes: [10, 0, 0, 0], prefixLen: 8, port: 443 });
  assert.deepEqual(parseDestination('[::1]:8080'), { family: 6, bytes: [...Array(15).fill(0), 1], prefixLen: 128, port: 8080 });
  assert.deepEqual(parseDestination('fd00::/8'), { family: 6, bytes: [0xfd, ...Array(15).fill(0)], prefixLen: 8, port: 0 });
  // The kernel looks IPv4-mapped destinations up as IPv4.
  assert.deepEqual(parseDestination('::ffff:192.0.2.7'), { family: 4, bytes: [192, 0, 2, 7], prefixLen: 32, port: 0 });
  for (const bad of ['api.openai.com', 'api.openai.com:443', '10.0.0.1:0', '10.0.0.1:70000', '10.0.0.1:https', '10.0.0.0/33', '[::1]:x', ''])
    assert.equal(typeof parseDestination(bad), 'string', bad);
});

test('bad kernel lists are one POLICY_RULES_INVALID naming the rule field', () => {
  const cases: Array<[string, RegExp]> = [
    [rule('      openDeny: [relative/secret.txt]'), /rules\.0\.kernel\.openDeny\.0: "relative\/secret\.txt" must be an absolute path/],
    [rule('      execDeny: [/usr/bin/../bin/curl]'), /rules\.0\.kernel\.execDeny\.0: .* must be normalized/],
    [rule(`      openDeny: [/${'a'.repeat(300)}]`), /must be at most 255 bytes/],
    [rule('      connectAllow: [api.openai.com:443]'), /rules\.0\.kernel\.connectAllow\.0: "api\.openai\.com:443": an IPv4\/IPv6 address/],
    [rule('      connectAllow: ["10.0.0.1:99999"]'), /connectAllow\.0: .*port must be 1\.\.65535/],
    [rule('      denyEverything: true'), /kernel: Unrecognized key/],
    [rule('      openDeny: [/etc/shadow]', 'decision: flag\n    enforcement: enforce'), /decision: a rule with `kernel` lists has `decision: deny`/],
  ];
  for (const [text, msg] of cases) {
    const e = loadError(text);
    assert.equal(e.code, 'POLICY_RULES_INVALID');
    assert.match(e.message, msg);
    assert.equal(e.message.includes('\n'), false, 'one line');
  }
});

test('a kernel-only rule compiles with no userspace condition; a kernel block beside a condition is allowed', () => {
  const [r] = compileRules(rule('      openDeny: [/etc/shadow]'), 'rules.yaml');
  assert.equal(r!.steps.length, 0);
  const both = compileRules(
    `version: 1
rules:
  - id: K2
    description: both
    severity: high
    decision: deny
    enforcement: enforce
    on: [data.access]
    condition: data.resource_uri == 'file:///etc/shadow'
    kernel:
      openDeny: [/etc/shadow]
`,
    'rules.yaml',
  );
  assert.equal(both[0]!.steps.length, 1);
});

test('lists: only enforce rules contribute; symlinked directories add the resolved path; rule indexes are stable', () => {
  const rules = compileRules(
    `version: 1
rules:
  - id: OBSERVED
    description: observe mode never reaches the kernel
    severity: high
    decision: deny
    enforcement: observe
    kernel: { openDeny: [/etc/passwd] }
  - id: EXEC
    description: no shells
    severity: high
    decision: deny
    enforcement: enforce
    kernel: { execDeny: [/bin/sh] }
  - id: NET
    description: only the proxy
    severity: high
    decision: deny
    enforcement: enforce
    kernel: { connectAllow: ["10.0.0.5:3128", "[::1]:3128"], openDeny: [/root/.ssh/] }
`,
    'rules.yaml',
  );
  const idx = new RuleIndex();
  const l = enforceListsOf(rules, idx);
  const realSh = realpathSync('/bin/sh');
  assert.deepEqual(l.execDeny, [...new Set(['/bin/sh', realSh])].map((target) => ({ target, rule: 0 })));
  assert.deepEqual(l.connectAllow, [{ target: '10.0.0.5:3128', rule: 1 }, { target: '[::1]:3128', rule: 1 }]);
  assert.deepEqual(l.openDeny.map((e) => e.target)[0], '/root/.ssh/');
  assert.equal(idx.id(0), 'EXEC');
  assert.equal(idx.id(1), 'NET');
  // A reload that drops EXEC keeps NET's index: records read after the reload still name the right rule.
  enforceListsOf(rules.slice(2), idx);
  assert.equal(idx.of('NET'), 1);
});

test('LPM keys: exact paths include their NUL, directory prefixes do not; destinations are family, port, address', () => {
  const exact = pathKey('/etc/shadow');
  assert.equal(exact.length, 260);
  assert.equal(exact.readUInt32LE(0), (11 + 1) * 8);
  assert.equal(exact.subarray(4, 16).toString('latin1'), '/etc/shadow\0');
  assert.equal(pathKey('/root/.ssh/').readUInt32LE(0), 11 * 8);

  const v4 = addrKey('10.0.0.0/8:443');
  assert.equal(v4.length, 24);
  assert.deepEqual([...v4], [8 + 16 + 8, 0, 0, 0, 4, 0x01, 0xbb, 10, ...Array(16).fill(0)]);
  const v6 = addrKey('[::1]:80');
  assert.deepEqual([...v6], [8 + 16 + 128, 0, 0, 0, 6, 0, 80, ...Array(15).fill(0), 1, 0]);
});

test('the enforcer switches a list on only after its entries are written, and off before they change', () => {
  const calls: Array<{ name: string; entries: Array<[Buffer, Buffer]> }> = [];
  const e = new NativeKernelEnforcer({ replaceEnforceMap: (name, entries) => calls.push({ name, entries }) });
  e.apply({ connectAllow: [], execDeny: [], openDeny: [] });
  assert.equal(calls.length, 0, 'no enforce rule: the kernel maps are not touched');
  e.apply({ connectAllow: [{ target: '127.0.0.1:1', rule: 3 }], execDeny: [], openDeny: [{ target: '/x', rule: 4 }] });
  // ar_enf_config: connect_on, connect_rule, exec_on, open_on (u32 each)
  const cfg = (c: { entries: Array<[Buffer, Buffer]> }) => [0, 4, 8, 12].map((o) => c.entries[0]![1].readUInt32LE(o));
  const on = (c: { entries: Array<[Buffer, Buffer]> }) => cfg(c).filter((_, i) => i !== 1);
  assert.deepEqual(calls.map((c) => c.name), ['enforce_config', 'enforce_connect_allow', 'enforce_exec_deny', 'enforce_open_deny', 'enforce_inode_deny', 'enforce_config']);
  assert.deepEqual(on(calls[0]!), [0, 0, 0], 'nothing on while the lists are written');
  assert.deepEqual(cfg(calls[5]!), [1, 3, 0, 1], 'connect on (rule 3), exec off, open on');
  assert.equal(calls[3]!.entries[0]![1].readUInt32LE(0), 4, 'the map value is the rule index');
  calls.length = 0;
  e.apply({ connectAllow: [], execDeny: [], openDeny: [{ target: '/x', rule: 4 }] });
  assert.deepEqual(on(calls[0]!), [0, 0, 1], 'connect switched off first, open stays on');
  calls.length = 0;
  e.close();
  assert.deepEqual(on(calls[0]!), [0, 0, 0]);
});

test('inode keys: existing listed files by (kernel dev, inode, what); directories and missing files by path only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ar-kernel-inode-'));
  try {
    const f = join(dir, 'secret');
    writeFileSync(f, 'x');
    const calls = new Map<string, Array<[Buffer, Buffer]>>();
    new NativeKernelEnforcer({ replaceEnforceMap: (name, entries) => calls.set(name, entries) }).apply({
      connectAllow: [],
      execDeny: [{ target: '/bin/sh', rule: 1 }],
      openDeny: [{ target: f, rule: 2 }, { target: `${dir}/`, rule: 2 }, { target: join(dir, 'missing'), rule: 2 }],
    });
    const inode = calls.get('enforce_inode_deny')!;
    assert.equal(inode.length, 2);
    const st = statSync(f, { bigint: true });
    const k = inode.find(([key]) => key.readUInt32LE(16) === 3)![0];
    assert.equal(k.readBigUInt64LE(8), st.ino);
    // /proc/self/mountinfo-free check of the encoding: major:minor of st_dev, MKDEV'd by hand.
    const major = Number((st.dev >> 8n) & 0xfffn);
    const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & 0xfff00n));
    assert.equal(k.readBigUInt64LE(0), (BigInt(major) << 20n) | BigInt(minor));
    assert.equal(inode.find(([key]) => key.readUInt32LE(16) === 2)![0].readBigUInt64LE(8), statSync('/bin/sh', { bigint: true }).ino);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agentrail run with bad kernel lists stops with one clear error line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ar-kernel-lists-'));
  try {
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, rule('      connectAllow: [not-an-address]'));
    const cfg = join(dir, 'agentrail.yaml');
    writeFileSync(cfg, `observability:\n  httpEnabled: false\npolicy:\n  rulesFile: ${rules}\n`);
    const r = spawnSync(process.execPath, [cliEntry, 'run', '--config', cfg, '--log-dir', join(dir, 'log'), '--', '/bin/true'], {
      encoding: 'utf8',
      env: { ...process.env, AGENTRAIL_ROOT: repoRoot },
    });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('agentrail run:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /POLICY_RULES_INVALID: .*rules\.0\.kernel\.connectAllow\.0: "not-an-address"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
