/**
 * Kernel enforcement (issue 13, bpf/enforce.bpf.c) with real processes under
 * the real sensor (`agentrail run --pid`): a rule with `enforcement: enforce`
 * and `kernel:` lists kills the process at a denied connect, exec or open,
 * each proven by the other side (the server got no byte, the marker was not
 * written, the reader never printed the file), and each kill is a
 * `policy.decision` deny/enforce in a sealed log that `agentrail verify`
 * accepts. Without an enforce rule (the default) the same process lives.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireKernel } from '../helpers/privileges.js';
import { waitFor } from '../helpers/wait-for.js';
import { startSensor } from '../helpers/sensor-process.js';

type Ev = { id: string; type: string; data: Record<string, any> };

interface Outcome {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  events: Ev[];
  sensorErr: string;
  logDir: string;
}

/**
 * Runs `sh -c 'kill -STOP $$; SCRIPT'` under `agentrail run --pid` with the rule file (or none:
 * the default pack), resumes it once the sensor runs, and stops the sensor after it exited
 * (and, when a kill is expected, after the sensor logged it).
 */
async function underSensor(t: TestContext, work: string, script: string, rules: string | undefined, expectKill: boolean, workers = 1): Promise<Outcome> {
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  let stdout = '';
  const proc = spawn('/bin/sh', ['-c', `kill -STOP $$; ${script}`], { cwd: work, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.on('exit', (c, s) => r([c, s])));
  await waitFor('process stopped', () => (/\) T /.test(readFileSync(`/proc/${proc.pid}/stat`, 'utf8')) ? true : undefined), 10_000);

  const tag = Math.random().toString(36).slice(2, 8);
  const cfg = join(work, `agentrail-${tag}.yaml`);
  writeFileSync(cfg, ['observability:', '  httpEnabled: false', 'seal:', `  keyDir: ${join(work, 'keys')}`, 'pipeline:', `  workers: ${workers}`, ...(rules ? ['policy:', `  rulesFile: ${rules}`] : []), ''].join('\n'));
  const logDir = join(work, `log-${tag}`);
  const sensor = await startSensor(children, proc.pid!, logDir, cfg);

  process.kill(proc.pid!, 'SIGCONT');
  const [code, signal] = await exited;
  // The decision is sealed when the kill record is decoded; the sensor says so in its log.
  if (expectKill) await waitFor('kill record decoded', () => (sensor.stderr().includes('kernel enforcement killed a traced process') ? true : undefined), 15_000);
  const err = sensor.stderr();
  await sensor.stop();

  const events: Ev[] = [];
  for (const f of readdirSync(join(logDir, 'segments')).sort()) for (const line of readFileSync(join(logDir, 'segments', f), 'utf8').split('\n')) if (line) events.push(JSON.parse(line) as Ev);
  return { pid: proc.pid!, code, signal, stdout, events, sensorErr: err, logDir };
}

function verifyOk(logDir: string): void {
  const r = spawnSync(process.execPath, [cliEntry, 'verify', logDir, '--keys', join(dirname(logDir), 'keys', 'agentrail.pub'), '--json'], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  assert.equal(r.status, 0, `verify: ${r.stdout} ${r.stderr}`);
}

/** The one deny/enforce decision of the rule, about the killed process. */
function killDecision(o: Outcome, ruleId: string, pid: number): Ev {
  const ds = o.events.filter((e) => e.type === 'dev.agentrail.policy.decision' && e.data.rule_fired === ruleId);
  assert.equal(ds.length, 1, `decisions: ${JSON.stringify(o.events.filter((e) => e.type.endsWith('policy.decision')).map((e) => e.data))}`);
  const d = ds[0]!;
  assert.equal(d.data.decision, 'deny');
  assert.equal(d.data.enforcement, 'enforce');
  assert.equal(d.data.overridden, false);
  assert.equal(d.data.severity, 'critical');
  assert.deepEqual(d.data.references, ['AML.T0024']);
  assert.equal(d.data.process.pid, pid);
  const evaluated = o.events.find((e) => e.id === d.data.evaluated_event_id);
  assert.ok(evaluated, 'the evaluated event (the process exec) is in the trail');
  assert.equal(evaluated.data.process.pid, pid);
  assert.equal(d.data.trace_id, evaluated.data.trace_id, 'same trace as the process');
  assert.equal(d.data.agent_session_id, evaluated.data.agent_session_id, 'same session as the process');
  const killed = o.events.find((e) => e.type === 'dev.agentrail.error' && e.data.process?.pid === pid);
  assert.equal(killed?.data.error_class, 'process_killed');
  assert.equal(killed?.data.signal, 9);
  return d;
}

function ruleFile(work: string, kernel: string, enforcement = 'enforce'): string {
  const f = join(work, `rules-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(
    f,
    `version: 1
rules:
  - id: KERNEL-DENY-1
    description: kernel enforcement under test
    severity: critical
    decision: deny
    enforcement: ${enforcement}
    references: [AML.T0024]
    kernel:
${kernel}
`,
  );
  return f;
}

function workDir(t: TestContext): string {
  const work = mkdtempSync(join(tmpdir(), 'agentrail-enforce-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  return work;
}

async function tcpServer(t: TestContext, reply: boolean, host = '127.0.0.1'): Promise<{ port: number; accepted: () => number; bytes: () => number }> {
  let accepted = 0;
  let bytes = 0;
  const srv: Server = createServer((s) => {
    accepted++;
    s.on('data', (d) => {
      bytes += d.length;
      if (reply) s.end('pong\n');
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  t.after(() => srv.close());
  return { port: (srv.address() as AddressInfo).port, accepted: () => accepted, bytes: () => bytes };
}

test('connect outside the allow list: killed before a byte reaches the server; the allowed destination still answers', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const allowed = await tcpServer(t, true);
  const denied = await tcpServer(t, false);
  const client = join(work, 'client.mjs');
  writeFileSync(
    client,
    `import { connect } from 'node:net';
const talk = (port) => new Promise((resolve, reject) => {
  const s = connect(port, '127.0.0.1', () => { process.stdout.write('connected ' + port + '\\n'); s.write('SECRET-PAYLOAD\\n'); });
  s.on('data', (d) => { process.stdout.write('reply ' + d); s.end(); resolve(); });
  s.on('error', reject);
});
await talk(${allowed.port});
await talk(${denied.port});
process.stdout.write('after denied\\n');
`,
  );
  const rules = ruleFile(work, `      connectAllow: ["127.0.0.1:${allowed.port}"]`);
  const o = await underSensor(t, work, `exec ${process.execPath} ${client}`, rules, true);

  assert.equal(o.signal, 'SIGKILL', `exit ${o.code} ${o.signal}, stdout: ${o.stdout}`);
  assert.match(o.stdout, /reply pong/, 'the allowed destination answered');
  assert.doesNotMatch(o.stdout, new RegExp(`connected ${denied.port}|after denied`), 'no user instruction ran after the denied connect');
  assert.equal(denied.bytes(), 0, `the denied server received no byte (accepted ${denied.accepted()})`);
  assert.ok(allowed.bytes() > 0);
  killDecision(o, 'KERNEL-DENY-1', o.pid);
  verifyOk(o.logDir);
});

test('IPv6: an allowed [::1] entry and an IPv4-mapped destination pass, another [::1] port is killed before a byte', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const allowed4 = await tcpServer(t, true);
  const allowed6 = await tcpServer(t, true, '::1');
  const denied6 = await tcpServer(t, false, '::1');
  const client = join(work, 'client6.mjs');
  writeFileSync(
    client,
    `import { connect } from 'node:net';
const talk = (port, host) => new Promise((resolve, reject) => {
  const s = connect({ port, host }, () => { process.stdout.write('connected ' + host + ' ' + port + '\\n'); s.write('SECRET-PAYLOAD\\n'); });
  s.on('data', (d) => { process.stdout.write('reply ' + host + ' ' + d); s.end(); resolve(); });
  s.on('error', reject);
});
await talk(${allowed4.port}, '::ffff:127.0.0.1');
await talk(${allowed6.port}, '::1');
await talk(${denied6.port}, '::1');
process.stdout.write('after denied\\n');
`,
  );
  const rules = ruleFile(work, `      connectAllow: ["127.0.0.1:${allowed4.port}", "[::1]:${allowed6.port}"]`);
  const o = await underSensor(t, work, `exec ${process.execPath} ${client}`, rules, true);

  assert.equal(o.signal, 'SIGKILL', `exit ${o.code} ${o.signal}, stdout: ${o.stdout}`);
  assert.match(o.stdout, /reply ::ffff:127\.0\.0\.1 pong/, 'the IPv4-mapped destination is checked as IPv4 and allowed');
  assert.match(o.stdout, /reply ::1 pong/, 'the allowed IPv6 destination answered');
  assert.doesNotMatch(o.stdout, new RegExp(`connected ::1 ${denied6.port}|after denied`));
  assert.equal(denied6.bytes(), 0, `the denied server received no byte (accepted ${denied6.accepted()})`);
  killDecision(o, 'KERNEL-DENY-1', o.pid);
  verifyOk(o.logDir);
});

test('UDP: a datagram to an allowed destination passes; the first to another destination kills the sender, and only that call\'s own datagram leaves', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const received: Record<string, number> = { allowed: 0, denied: 0 };
  const udp = async (name: string) => {
    const sock = createSocket('udp4');
    sock.on('message', (m, rinfo) => {
      received[name]! += m.length;
      sock.send('pong', rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    t.after(() => sock.close());
    return sock.address().port;
  };
  const allowedPort = await udp('allowed');
  const deniedPort = await udp('denied');
  const client = join(work, 'udp.mjs');
  // Unconnected sends: libuv uses sendmsg with the destination in msg_name.
  writeFileSync(
    client,
    `import { createSocket } from 'node:dgram';
const s = createSocket('udp4');
const ask = (port) => new Promise((resolve) => { s.once('message', (m) => { process.stdout.write('reply ' + port + ' ' + m + '\\n'); resolve(); }); s.send('SECRET-PAYLOAD', port, '127.0.0.1'); });
await ask(${allowedPort});
s.send('SECRET-PAYLOAD', ${deniedPort}, '127.0.0.1');
s.send('SECRET-PAYLOAD', ${deniedPort}, '127.0.0.1');
s.send('SECRET-PAYLOAD', ${deniedPort}, '127.0.0.1');
await new Promise((r) => setTimeout(r, 500));
process.stdout.write('after denied\\n');
`,
  );
  const rules = ruleFile(work, `      connectAllow: ["127.0.0.1:${allowedPort}"]`);
  const o = await underSensor(t, work, `exec ${process.execPath} ${client}`, rules, true);

  assert.equal(o.signal, 'SIGKILL', `exit ${o.code} ${o.signal}, stdout: ${o.stdout}`);
  assert.match(o.stdout, new RegExp(`reply ${allowedPort} pong`));
  assert.doesNotMatch(o.stdout, /after denied/);
  assert.ok(received.allowed! > 0);
  // The syscall that named the destination completes before the signal is delivered: its datagram leaves, no later one.
  assert.equal(received.denied, 'SECRET-PAYLOAD'.length, 'exactly the one datagram of the denied call arrived');
  killDecision(o, 'KERNEL-DENY-1', o.pid);
  verifyOk(o.logDir);
});

for (const workers of [1, 2]) {
  // workers: 2 — the sharded pipeline: the main thread fills the kernel lists, the worker of the session builds the decision.
  test(`exec of a denied binary: killed, its side effect absent; an allowed exec before it ran${workers > 1 ? ` (pipeline.workers: ${workers})` : ''}`, { timeout: 120_000 }, async (t) => {
    if (!requireKernel(t)) return;
    const work = workDir(t);
    const marker = join(work, 'marker');
    const bin = join(work, 'writer.sh');
    writeFileSync(bin, `#!/bin/sh\necho ran > ${marker}\n`);
    chmodSync(bin, 0o755);
    const rules = ruleFile(work, `      execDeny: ["${bin}"]`);
    const o = await underSensor(t, work, `/bin/echo allowed-ran; exec ${bin}`, rules, true, workers);

    assert.equal(o.signal, 'SIGKILL', `exit ${o.code} ${o.signal}, stdout: ${o.stdout}`);
    assert.match(o.stdout, /allowed-ran/, 'an exec not on the list ran');
    assert.equal(existsSync(marker), false, 'the denied binary never ran');
    killDecision(o, 'KERNEL-DENY-1', o.pid);
    verifyOk(o.logDir);
  });
}

test('open of a denied path: killed, the reader never printed the file; an allowed file before it was read', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const pub = join(work, 'public.txt');
  const secretDir = join(work, 'secrets');
  writeFileSync(pub, 'PUBLIC-CONTENT\n');
  mkdirSync(secretDir);
  const secret = join(secretDir, 'key.txt');
  writeFileSync(secret, 'TOPSECRET-CONTENT\n');
  // A directory prefix: everything under secrets/ is denied.
  const rules = ruleFile(work, `      openDeny: ["${secretDir}/"]`);
  const o = await underSensor(t, work, `exec /bin/cat ${pub} ${secret}`, rules, true);

  assert.equal(o.signal, 'SIGKILL', `exit ${o.code} ${o.signal}, stdout: ${o.stdout}`);
  assert.match(o.stdout, /PUBLIC-CONTENT/);
  assert.doesNotMatch(o.stdout, /TOPSECRET/, 'the denied file was never read');
  const read = o.events.find((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `file://${secret}`);
  assert.equal(read?.data.bytes_read ?? 0, 0, 'the trail shows no byte read from it');
  killDecision(o, 'KERNEL-DENY-1', o.pid);
  assert.equal(JSON.stringify(o.events).includes('TOPSECRET'), false);
  verifyOk(o.logDir);
});

test('enforcement is off by default and in observe mode: the same reader lives and reads the file', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const secret = join(work, 'secret.txt');
  writeFileSync(secret, 'TOPSECRET-CONTENT\n');
  for (const rules of [undefined, ruleFile(work, `      openDeny: ["${secret}"]`, 'observe')]) {
    const o = await underSensor(t, work, `exec /bin/cat ${secret}`, rules, false);
    assert.equal(o.code, 0, `${rules ?? 'default pack'}: exit ${o.code} ${o.signal}`);
    assert.match(o.stdout, /TOPSECRET-CONTENT/);
    assert.equal(o.events.filter((e) => e.type === 'dev.agentrail.policy.decision' && e.data.enforcement === 'enforce').length, 0);
    assert.equal(o.sensorErr.includes('kernel enforcement on'), false, 'nothing was loaded into the kernel lists');
  }
});

test('evasions of a denied file and binary: a relative path, a symlink and a hard link are killed too (inode match)', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const secretDir = join(work, 'secrets');
  mkdirSync(secretDir);
  const secret = join(secretDir, 'key.txt');
  writeFileSync(secret, 'TOPSECRET-CONTENT\n');
  symlinkSync(secret, join(work, 'via-symlink'));
  linkSync(secret, join(work, 'via-hardlink'));
  const marker = join(work, 'marker');
  // An ELF binary (a script's exec image is its interpreter: scripts are matched by path only).
  const bin = join(work, 'mytouch');
  copyFileSync('/usr/bin/touch', bin);
  chmodSync(bin, 0o755);
  symlinkSync(bin, join(work, 'touch-link'));
  const rules = ruleFile(work, `      openDeny: ["${secret}"]\n      execDeny: ["${bin}"]`);
  // Each reader/exec is a child of the shell: the shell lives on and reports how each child ended.
  const script = ['cd secrets && /bin/cat key.txt; echo "rel=$?"', 'cd ..; /bin/cat via-symlink; echo "sym=$?"', '/bin/cat via-hardlink; echo "hard=$?"', `./touch-link ${marker}; echo "exec=$?"`].join('; ');
  const o = await underSensor(t, work, script, rules, true);
  // Wait for every kill's record: four decisions.
  assert.equal(o.code, 0, `the shell itself lives: ${o.stdout}`);
  for (const k of ['rel', 'sym', 'hard', 'exec']) assert.match(o.stdout, new RegExp(`${k}=137`), `${k}: killed by SIGKILL (${o.stdout})`);
  assert.doesNotMatch(o.stdout, /TOPSECRET/);
  assert.equal(existsSync(marker), false);
  const ds = o.events.filter((e) => e.type === 'dev.agentrail.policy.decision' && e.data.rule_fired === 'KERNEL-DENY-1');
  assert.equal(ds.length, 4, JSON.stringify(ds.map((d) => d.data.process)));
  assert.ok(ds.every((d) => d.data.decision === 'deny' && d.data.enforcement === 'enforce' && d.data.process.pid !== o.pid));
  verifyOk(o.logDir);
});

test('rules reloaded without restart: switching a rule from observe to enforce kills the next open; a bad file in between is rejected and changes nothing', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const work = workDir(t);
  const secret = join(work, 'secret.txt');
  writeFileSync(secret, 'TOPSECRET-CONTENT\n');
  const rules = ruleFile(work, `      openDeny: ["${secret}"]`, 'observe');
  // A reader loop: each read is a new child; the loop stops at the first child killed.
  const script = `while true; do /bin/cat ${secret} > /dev/null; rc=$?; echo "rc=$rc"; [ $rc = 137 ] && break; sleep 0.1; done; echo stopped`;
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const flip = (async () => {
    // Once the reader has read under observe, make the rule enforce; first a bad file, which must not change anything.
    await waitFor('a read in observe mode', () => (existsSync(join(work, 'reading')) ? true : undefined), 60_000);
    writeFileSync(rules, 'version: 1\nrules: [ {id: broken\n');
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(rules, readFileSync(rules + '.enforce', 'utf8'));
  })();
  writeFileSync(rules + '.enforce', readFileSync(rules, 'utf8').replace('enforcement: observe', 'enforcement: enforce'));
  const o = await underSensor(t, work, script.replace('> /dev/null;', `> /dev/null && touch ${join(work, 'reading')};`), rules, true);
  await flip;
  assert.equal(o.code, 0, o.stdout);
  const lines = o.stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'stopped');
  assert.equal(lines.at(-2), 'rc=137', 'the first read after the reload was killed');
  assert.ok(lines.filter((l) => l === 'rc=0').length >= 1, 'reads succeeded before the reload');
  assert.match(o.sensorErr, /policy rules rejected, keeping previous rules/);
  assert.equal(o.events.filter((e) => e.type === 'dev.agentrail.policy.decision' && e.data.enforcement === 'enforce').length, 1);
  verifyOk(o.logDir);
});
