/**
 * Mutation tests on a real log written by the real Sealer + the production LocalLog: every kind of tampering is
 * detected with the right reason code and index; the untouched log verifies (library and CLI).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCli } from '../helpers/cli.js';
import { canonicalBytes } from '../../src/seal/canonical.js';
import { formatVerifierKey, keyFromSeed, parseSignerKeyText, signBytes } from '../../src/seal/keys.js';
import { leafHash, MerkleFrontier } from '../../src/seal/merkle.js';
import { verifyLog, type LineInput, type VerifyReport } from '../../src/verify/log-verifier.js';
import { parseKeyring } from '../../src/verify/keyring.js';
import { readSignedHead, readSource, segmentFiles } from '../../src/verify/node-reader.js';
import type { VerifierKey } from '../../src/verify/note.js';
import { buildLog, crashedLog, logLines, makeKeys, openSealer, tmp, writeExport, type Keys } from './fixture.js';

let keys: Keys;
let ring: VerifierKey[];
let dir: string;
let lines: string[];
let evs: Record<string, any>[];
const CP = 'dev.agentrail.log.checkpoint';

before(async () => {
  keys = makeKeys();
  ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  dir = await buildLog(50, keys);
  lines = logLines(dir);
  evs = lines.map((l) => JSON.parse(l));
});

const verify = (ls: LineInput[], extra: Partial<Parameters<typeof verifyLog>[1]> = {}): Promise<VerifyReport> => verifyLog(ls, { keys: ring, ...extra });
function expectFail(r: VerifyReport, reason: string, index: number, what: string): void {
  assert.equal(r.ok, false, `${what}: must fail`);
  assert.equal(r.failure!.reason, reason, `${what}: reason (${r.failure!.detail})`);
  assert.equal(r.failure!.index, index, `${what}: index`);
}
/** Re-serialize an edited event canonically (an attacker who edits JSON properly). */
const canon = (e: unknown) => canonicalBytes(e).toString('utf8');
const firstOf = (pred: (e: Record<string, any>, i: number) => boolean) => evs.findIndex(pred);
const toolIdx = () => firstOf((e, i) => e.type.endsWith('tool.invocation') && i > 10);

test('the untouched log verifies (directory, export file, CLI)', async () => {
  const r = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(r.ok, true, JSON.stringify(r.failure));
  assert.equal(r.lines, lines.length);
  assert.equal(r.anchoredFrom, '1');
  assert.ok(r.checkpoints >= 7, `checkpoints: ${r.checkpoints}`);
  assert.equal(evs[0]!.type, 'dev.agentrail.sensor.start');
  assert.equal(evs.at(-2)!.type, 'dev.agentrail.sensor.stop');
  assert.equal(evs.at(-1)!.type, CP);
  const cli = runCli(['verify', dir, '--keys', keys.keyring, '--progress']);
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /^OK /);
  assert.match(cli.stderr, new RegExp(`verify: \\[#{24}\\] 100% ${lines.length} lines`), 'progress on stderr');
  assert.equal(runCli(['verify', dir, '--keys', keys.keyring]).stderr, '', 'no progress when stderr is not a TTY');
  const exp = runCli(['verify', writeExport(lines), '--keys', keys.keyring, '--json']);
  assert.equal(exp.status, 0);
  assert.equal(JSON.parse(exp.stdout).ok, true);
});

test('one changed byte of each field is detected with the right reason and index', async () => {
  const k = toolIdx();
  const c = firstOf((e, i) => e.type === CP && i > k);
  const edit = (i: number, f: (e: Record<string, any>) => void) => {
    const e = structuredClone(evs[i]!);
    f(e);
    const ls = lines.slice();
    ls[i] = canon(e);
    return ls;
  };
  const bump = (s: string) => s.slice(0, -1) + (s.at(-1) === '0' ? '1' : '0');
  const cases: [string, string[], string, number][] = [
    ['id', edit(k, (e) => (e.id = bump(e.id))), 'PREVHASH_MISMATCH', k + 1],
    ['time', edit(k, (e) => (e.time = e.time.replace(/\d(?=Z$)/, (d: string) => String((Number(d) + 1) % 10)))), 'PREVHASH_MISMATCH', k + 1],
    ['type', edit(k, (e) => (e.type = e.type.replace('tool', 'tooL'))), 'PREVHASH_MISMATCH', k + 1],
    ['data', edit(k, (e) => (e.data.arguments.bytes = bump(e.data.arguments.bytes))), 'PREVHASH_MISMATCH', k + 1],
    ['source', edit(k, (e) => (e.source = e.source + 'x')), 'SOURCE_MISMATCH', k],
    ['sequence up', edit(k, (e) => (e.sequence = String(Number(e.sequence) + 1))), 'SEQUENCE_GAP', k],
    ['sequence down', edit(k, (e) => (e.sequence = String(Number(e.sequence) - 1))), 'SEQUENCE_REPLAY', k],
    ['prevhash', edit(k, (e) => (e.prevhash = bump(e.prevhash))), 'PREVHASH_MISMATCH', k],
    ['checkpoint treesize', edit(c, (e) => (e.data.treesize = String(Number(e.data.treesize) - 1))), 'TREE_SIZE_MISMATCH', c],
    ['checkpoint root', edit(c, (e) => (e.data.root = (e.data.root[0] === 'A' ? 'B' : 'A') + e.data.root.slice(1))), 'FRONTIER_MISMATCH', c],
    ['checkpoint frontier', edit(c, (e) => (e.data.frontier[0] = bump(e.data.frontier[0]))), 'FRONTIER_MISMATCH', c],
    ['checkpoint origin', edit(c, (e) => (e.data.origin += 'x')), 'ORIGIN_MISMATCH', c],
    ['checkpoint signature', edit(c, (e) => (e.data.note = e.data.note.replace(/ (\S{10})(\S)(\S*)\n$/, (_: string, a: string, b: string, r: string) => ` ${a}${b === 'A' ? 'B' : 'A'}${r}\n`))), 'BAD_SIGNATURE', c],
    ['checkpoint id (bound in note)', edit(c, (e) => (e.id = bump(e.id))), 'CHECKPOINT_UNBOUND', c],
    ['last checkpoint time', edit(lines.length - 1, (e) => (e.time = e.time.replace(/\d(?=Z$)/, (d: string) => String((Number(d) + 1) % 10)))), 'CHECKPOINT_UNBOUND', lines.length - 1],
  ];
  for (const [what, ls, reason, index] of cases) {
    assert.ok(ls.some((l, i) => l !== lines[i]), `${what}: the edit changed something`);
    expectFail(await verify(ls), reason, index, what);
  }
});

test('any random single-byte change anywhere is detected at that line or the next', async () => {
  const enc = lines.map((l) => Buffer.from(l, 'utf8'));
  const lastCheckpointBefore = (end: number): number => {
    for (let i = end - 1; i >= 0; i--) if ((JSON.parse(lines[i]!) as { type: string }).type === 'dev.agentrail.log.checkpoint') return i;
    return -1;
  };
  await fc.assert(
    fc.asyncProperty(fc.nat(enc.length - 1), fc.nat(1 << 20), fc.integer({ min: 0, max: 255 }), async (li, pos, byte) => {
      const orig = enc[li]!;
      const p = pos % orig.length;
      if (byte === 10 || byte === orig[p]) return;
      const m = Buffer.from(orig);
      m[p] = byte;
      const ls: LineInput[] = enc.slice();
      ls[li] = m;
      const r = await verify(ls);
      assert.equal(r.ok, false, `line ${li} byte ${p} → ${byte} undetected`);
      // A change to the last checkpoint that keeps it valid JSON but no longer a checkpoint (its
      // type string edited) leaves every event after the previous checkpoint unsigned: reported as
      // UNSIGNED_TAIL at the first of them.
      const tailStart = lastCheckpointBefore(enc.length - 1) + 1;
      const atTail = li === enc.length - 1 && r.failure!.reason === 'UNSIGNED_TAIL' && r.failure!.index === tailStart;
      assert.ok([li, li + 1].includes(r.failure!.index) || atTail, `line ${li}: reported ${r.failure!.reason} at ${r.failure!.index}`);
    }),
    { numRuns: 400 },
  );
  // The case the property once found: the final checkpoint's type edited inside the string.
  const li = enc.length - 1;
  const m = Buffer.from(lines[li]!.replace('"type":"dev.agentrail.log.checkpoint"', '"type":"dev.agentrail.log.checkpoin "'), 'utf8');
  assert.notDeepEqual(m, enc[li]);
  const r = await verify([...enc.slice(0, li), m]);
  assert.equal(r.failure?.reason, 'UNSIGNED_TAIL');
  assert.equal(r.failure?.index, lastCheckpointBefore(li) + 1);
});

test('delete, insert, reorder, duplicate', async () => {
  const k = toolIdx();
  const del = lines.filter((_, i) => i !== k);
  expectFail(await verify(del), 'SEQUENCE_GAP', k, 'delete');
  const dup = [...lines.slice(0, k + 1), lines[k]!, ...lines.slice(k + 1)];
  expectFail(await verify(dup), 'SEQUENCE_REPLAY', k + 1, 'duplicate');
  const swap = lines.slice();
  [swap[k], swap[k + 1]] = [swap[k + 1]!, swap[k]!];
  expectFail(await verify(swap), 'SEQUENCE_GAP', k, 'reorder');
  // Insert an event copied from elsewhere, renumbered and chained correctly at its position.
  const ins = structuredClone(evs[k]!);
  ins.id = '01ZZZZZZZZZZZZZZZZZZZZZZZZ';
  ins.sequence = String(k + 1);
  ins.prevhash = leafHash(Buffer.from(lines[k - 1]!)).toString('hex');
  const withIns = [...lines.slice(0, k), canon(ins), ...lines.slice(k)];
  // The inserted line takes sequence k+1; the genuine line after it repeats that sequence.
  expectFail(await verify(withIns), 'SEQUENCE_REPLAY', k + 1, 'insert');
  // Renumbering the rest as well breaks prevhash at the first genuine line after the insert.
  const renum = [...lines.slice(0, k), canon(ins), ...lines.slice(k).map((l) => {
    const x = JSON.parse(l);
    x.sequence = String(Number(x.sequence) + 1);
    return canon(x);
  })];
  expectFail(await verify(renum), 'PREVHASH_MISMATCH', k + 1, 'insert + renumber');
});

/** An attacker without the key rewrites the tail consistently (chain, tree, checkpoints) with their own key. */
function rewriteFrom(start: number, edited: Record<string, any>[], seed: number): string[] {
  const attacker = keyFromSeed('agentrail-test', Buffer.alloc(32, seed));
  const out = lines.slice(0, start);
  const tree = new MerkleFrontier();
  for (const l of out) tree.append(leafHash(Buffer.from(l)));
  let prev = leafHash(Buffer.from(out[out.length - 1]!));
  edited.forEach((e0, j) => {
    const e = structuredClone(e0);
    e.sequence = String(start + j + 1);
    e.prevhash = prev.toString('hex');
    if (e.type === CP) {
      const root = tree.root();
      const body = `${e.data.origin}\n${tree.size}\n${root.toString('base64')}\nagentrail-event ${e.id} ${e.time}\n`;
      const sig = Buffer.concat([attacker.keyIdBytes, signBytes(attacker, Buffer.from(body))]).toString('base64');
      e.data = { ...e.data, treesize: String(tree.size), root: root.toString('base64'), frontier: tree.frontier.map((h) => h.toString('hex')), note: `${body}\n\u2014 agentrail-test ${sig}\n` };
    }
    const s = canon(e);
    out.push(s);
    prev = leafHash(Buffer.from(s));
    tree.append(prev);
  });
  return out;
}

test('a consistently rewritten log signed by another key fails at the first re-signed checkpoint', async () => {
  const k = toolIdx();
  const tail = evs.slice(k).map((e) => structuredClone(e));
  tail[0]!.data.outcome.status = 'error';
  const forged = rewriteFrom(k, tail, 9);
  const c = firstOf((e, i) => e.type === CP && i > k);
  expectFail(await verify(forged), 'UNKNOWN_KEY', c, 'another key');
  // Deleting an event and re-chaining the rest is caught the same way.
  const forged2 = rewriteFrom(k, evs.slice(k + 1), 9);
  expectFail(await verify(forged2), 'UNKNOWN_KEY', c - 1, 'delete + rechain');
  // Rewriting with no key at all: recomputed roots do not match the genuine signed checkpoints.
  const e = structuredClone(evs[k]!);
  e.data.outcome.status = 'error';
  const ls = lines.slice();
  ls[k] = canon(e);
  for (let i = k + 1; i < ls.length; i++) {
    const x = JSON.parse(ls[i]!);
    x.prevhash = leafHash(Buffer.from(ls[i - 1]!)).toString('hex');
    ls[i] = canon(x);
  }
  expectFail(await verify(ls), 'ROOT_MISMATCH', c, 'rechain without key');
});

test('replaced checkpoint: an earlier genuine checkpoint pasted over a later one, and a forged signature', async () => {
  const cps = evs.map((e, i) => (e.type === CP ? i : -1)).filter((i) => i > 0);
  const [c1, c2] = [cps[1]!, cps[2]!];
  const e = structuredClone(evs[c2]!);
  e.data = structuredClone(evs[c1]!.data);
  const ls = lines.slice();
  ls[c2] = canon(e);
  expectFail(await verify(ls), 'TREE_SIZE_MISMATCH', c2, 'pasted checkpoint');
  const forged = rewriteFrom(c2, evs.slice(c2), 0);
  const r = await verify(forged);
  assert.equal(r.failure?.reason, 'UNKNOWN_KEY');
  assert.equal(r.failure?.index, c2);
});

test('truncated tail: cut mid-line, cut whole lines, cut exactly after a checkpoint (needs an external checkpoint)', async () => {
  const torn: LineInput[] = lines.map((l) => Buffer.from(l));
  torn[torn.length - 1] = { bytes: Buffer.from(lines.at(-1)!.slice(0, 40)), terminated: false };
  expectFail(await verify(torn), 'TORN_LINE', lines.length - 1, 'torn');
  const cut = lines.slice(0, -2);
  const lastCp = cut.map((l, i) => (JSON.parse(l).type === CP ? i : -1)).filter((i) => i >= 0).pop()!;
  expectFail(await verify(cut), 'UNSIGNED_TAIL', lastCp + 1, 'cut 2 lines');
  const live = await verify(cut, { allowUnsignedTail: true });
  assert.equal(live.ok, true, 'a live log may end unsigned when allowed');
  assert.ok(live.warnings.some((w) => /not yet signed/.test(w)));
  const atCp = lines.slice(0, lastCp + 1);
  assert.equal((await verify(atCp)).ok, true, 'a log cut at a checkpoint looks complete on its own');
  const finalNote: string = evs.at(-1)!.data.note;
  expectFail(await verify(atCp, { witnesses: [finalNote] }), 'TRUNCATED', atCp.length, 'cut at checkpoint + external checkpoint');
  assert.equal((await verify(lines, { witnesses: [finalNote] })).ok, true, 'full log with its own final checkpoint as witness');
});

test('key validity windows: a checkpoint signed outside the key window fails', async () => {
  const line = readFileSync(keys.keyring, 'utf8').trim();
  const expired = parseKeyring(`${line} not-after=2000-01-01T00:00:00Z`);
  const r = await verifyLog(lines, { keys: expired });
  expectFail(r, 'KEY_NOT_VALID', 1, 'expired key');
});

test('CLI exit codes per failure class', () => {
  const k = toolIdx();
  const run = (ls: string[], extra: string[] = []) => runCli(['verify', writeExport(ls), '--keys', keys.keyring, ...extra]);
  const del = lines.filter((_, i) => i !== k);
  const r1 = run(del);
  assert.equal(r1.status, 11, r1.stdout);
  assert.match(r1.stdout, new RegExp(`FAIL SEQUENCE_GAP at index ${k}`));
  const e = JSON.parse(lines[k]!);
  e.prevhash = '1'.repeat(64);
  assert.equal(run([...lines.slice(0, k), canon(e), ...lines.slice(k + 1)]).status, 12);
  const r3 = run(lines.slice(0, -2));
  assert.equal(r3.status, 16);
  const r4 = run(lines.slice(0, -2), ['--allow-unsigned-tail']);
  assert.equal(r4.status, 0, r4.stdout);
  const f = writeExport(lines);
  writeFileSync(f, readFileSync(f).subarray(0, -10));
  assert.equal(runCli(['verify', f, '--keys', keys.keyring]).status, 10);
  const other = makeKeys('someone-else');
  const r5 = runCli(['verify', dir, '--keys', other.keyring, '--json']);
  assert.equal(r5.status, 14);
  assert.equal(JSON.parse(r5.stdout).failure.reason, 'UNKNOWN_KEY');
  const cps = evs.map((x, i) => (x.type === CP ? i : -1)).filter((i) => i > 0);
  const c = structuredClone(evs[cps[1]!]!);
  c.data.root = evs[cps[0]!]!.data.root;
  c.data.frontier = evs[cps[0]!]!.data.frontier;
  const r6 = run(lines.map((l, i) => (i === cps[1] ? canon(c) : l)));
  assert.equal(r6.status, 13, r6.stdout);
  assert.equal(runCli(['verify', join(dir, 'nope'), '--keys', keys.keyring]).status, 1);
  assert.equal(runCli(['verify', dir]).status, 2);
});

// ---- issue 11: the signed chain head (head.note) and keys kept apart -------------------------------

/** A signed head note over the first `size` events of `ls` (what a sensor would store), signed with `key`. */
function headNote(ls: string[], size: number, key: ReturnType<typeof keyFromSeed>): string {
  const f = new MerkleFrontier();
  for (const l of ls.slice(0, size)) f.append(leafHash(Buffer.from(l)));
  const body = `${evs[1]!.data.origin}\n${size}\n${f.root().toString('base64')}\nagentrail-head ${leafHash(Buffer.from(ls[size - 1]!)).toString('hex')}\n`;
  return `${body}\n\u2014 ${key.name} ${Buffer.concat([key.keyIdBytes, signBytes(key, Buffer.from(body))]).toString('base64')}\n`;
}

test('signed head mutations: each fails with the reason written here, never a clean verify', async () => {
  const head = readSignedHead(dir)!;
  assert.equal(Number(head.split('\n')[1]), lines.length, 'a cleanly stopped sensor signed the final line as its head');
  const ok = await verify(lines, { signedHead: head });
  assert.equal(ok.ok, true, JSON.stringify(ok.failure));
  assert.equal(ok.signedHeadSequence, String(lines.length));
  // It is an ordinary C2SP checkpoint of the log: an auditor can keep it and pass it back.
  const asCheckpoint = runCli(['verify', dir, '--keys', keys.keyring, '--checkpoint', join(dir, 'head.note')]);
  assert.equal(asCheckpoint.status, 0, asCheckpoint.stdout + asCheckpoint.stderr);
  const attacker = keyFromSeed('agentrail-test', Buffer.alloc(32, 7));
  const last = lines.at(-1)!;
  const forged = structuredClone(evs[toolIdx()]!);
  forged.id = '01JFORGEDMUTATION00000000Z';
  forged.sequence = String(lines.length + 1);
  forged.prevhash = leafHash(Buffer.from(last)).toString('hex');
  const appended = [...lines, canon(forged)];
  const genuine = parseSignerKeyText(readFileSync(keys.keyFile, 'utf8'), 'key');
  const other = lines.slice();
  other[5] = canon({ ...evs[5]!, id: '01JOTHERCHAIN000000000000Z' });
  const cases: [string, LineInput[], string, string, number][] = [
    // A chained line appended after the signed head (crash + key-less attacker).
    ['line appended after the head', appended, head, 'UNSIGNED_TAIL', lines.length],
    // The attacker also stores a head over the appended line, signed with a key of their own.
    ['head re-signed by another key', appended, headNote(appended, appended.length, attacker), 'UNKNOWN_KEY', -1],
    // One byte of the head body changed (size), the genuine signature kept.
    ['head body edited', lines, head.replace(`\n${lines.length}\n`, `\n${lines.length - 1}\n`), 'BAD_SIGNATURE', -1],
    // Lines the sensor signed as written are gone (the tail cut back to an earlier checkpoint).
    ['log cut before the signed head', lines.slice(0, -2), head, 'TRUNCATED', lines.length - 2],
    // A head genuinely signed by this sensor's key, but over another chain (another log of the same key).
    ['head of another chain, same key', lines, headNote(other, 20, genuine), 'CONSISTENCY_FAILED', 19],
  ];
  for (const [what, ls, h, reason, index] of cases) expectFail(await verify(ls, { signedHead: h }), reason, index, what);
  // Without head.note (deleted by the attacker) the appended line is still an unsigned tail.
  expectFail(await verify(appended), 'UNSIGNED_TAIL', lines.length, 'head deleted');
});

test('signed head mutations across a restart: a crash followed by an appended line, with the head kept, deleted or replaced, always ends in QUARANTINED', async () => {
  const attacker = keyFromSeed('agentrail-test', Buffer.alloc(32, 9));
  const cases: [string, (d: string, ls: string[]) => void, string][] = [
    ['head kept', () => undefined, 'AFTER_SIGNED_HEAD'],
    ['head deleted', (d) => rmSync(join(d, 'head.note')), 'NO_SIGNED_HEAD'],
    ['head replaced by one signed with another key', (d, ls) => writeFileSync(join(d, 'head.note'), headNote(ls, ls.length, attacker)), 'UNKNOWN_KEY'],
  ];
  for (const [what, tamper, detail] of cases) {
    const d = await crashedLog(5, keys, { checkpointEvents: 1000 }); // the writer died: no sensor.stop
    const ls = logLines(d);
    const f = structuredClone(JSON.parse(ls.at(-1)!));
    f.id = '01JFORGEDRESTART000000000Z';
    f.sequence = String(ls.length + 1);
    f.prevhash = leafHash(Buffer.from(ls.at(-1)!)).toString('hex');
    appendFileSync(segmentFiles(d).at(-1)!, canon(f) + '\n');
    tamper(d, [...ls, canon(f)]);
    const r = await openSealer(d, keys);
    await r.close();
    const after = logLines(d);
    assert.ok(!after.some((l) => l.includes('01JFORGEDRESTART')), `${what}: the appended line is not adopted`);
    const gap = after.map((l) => JSON.parse(l)).find((e) => e.type === 'dev.agentrail.log.gap');
    assert.equal(gap?.data.reason, 'unproven-tail', what);
    assert.equal(gap.data.detail, detail, what);
    const v = await verifyLog(readSource(d), { keys: ring, signedHead: readSignedHead(d)! });
    assert.equal(v.failure?.reason, 'QUARANTINED', `${what}: never a clean verify after the restart`);
  }
});

test('keys kept apart: a log re-signed by an attacker who also drops their verifier key into <log-dir>/keys fails against the key kept outside; the CLI warns about a keyring inside the log directory', async () => {
  const k = toolIdx();
  const tail = evs.slice(k).map((e) => structuredClone(e));
  tail[0]!.data.outcome.status = 'error';
  const forged = rewriteFrom(k, tail, 9);
  const d = tmp();
  cpSync(dir, d, { recursive: true });
  const seg = join(d, 'segments');
  for (const f of readdirSync(seg)) rmSync(join(seg, f));
  writeFileSync(join(seg, '00000000000000000001.jsonl'), forged.join('\n') + '\n');
  rmSync(join(d, 'head.note'));
  mkdirSync(join(d, 'keys'), { recursive: true });
  const attackerPub = formatVerifierKey(keyFromSeed('agentrail-test', Buffer.alloc(32, 9)));
  writeFileSync(join(d, 'keys', 'agentrail.pub'), attackerPub + '\n');
  // Against the verifier key kept outside the log directory: the re-signed checkpoint is unknown.
  const outside = runCli(['verify', d, '--keys', keys.keyring]);
  assert.equal(outside.status, 14, outside.stdout);
  assert.match(outside.stdout, /^FAIL UNKNOWN_KEY /);
  // Against the swapped key inside the log directory it "verifies", and the CLI says why not to trust that.
  const inside = runCli(['verify', d, '--keys', join(d, 'keys', 'agentrail.pub')]);
  assert.match(inside.stderr, /keyring .* is inside the log directory it verifies/);
});
