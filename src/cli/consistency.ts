import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { verifyLog, type CheckpointInfo } from '../verify/log-verifier.js';
import { parseCheckpointText, parseNote } from '../verify/note.js';
import { loadKeyringFile, readLines, sourceFiles } from '../verify/node-reader.js';
import { makeConsistencyProof, verifyConsistencyProofFile } from '../verify/proof.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail consistency CHECKPOINT_A CHECKPOINT_B --log DIR --keys FILE [--out FILE] [--json]
       agentrail consistency --proof FILE --keys FILE [--json]

CHECKPOINT_A/B: a tree size of a checkpoint in the log, "latest", or a file holding a signed
checkpoint note (e.g. one kept by an auditor). Builds the RFC 9162 consistency proof from the log and
checks it against both signed roots; --out writes it as a proof file, --proof checks such a file offline.
Exit codes as for verify (15 = not consistent).`;

export const command: Command = {
  name: 'consistency',
  summary: 'check that one signed checkpoint extends another',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { log: { type: 'string' }, keys: { type: 'string' }, out: { type: 'string' }, proof: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (!values.keys) throw new AgentrailError('USAGE', '--keys FILE is required', { hint: HELP.split('\n')[0] });
    const keys = await loadKeyringFile(values.keys);
    let file: unknown;
    if (values.proof) {
      file = JSON.parse(readFileSync(values.proof, 'utf8'));
    } else {
      const [a, b] = positionals;
      if (!a || !b || !values.log) throw new AgentrailError('USAGE', 'two checkpoints and --log are required', { hint: HELP.split('\n')[0] });
      let files: string[];
      try {
        files = sourceFiles(values.log);
      } catch (e) {
        throw new AgentrailError('IO_READ', `cannot read ${values.log}`, { cause: e });
      }
      const report = await verifyLog(readLines(files), { keys, keepLeaves: true, allowUnsignedTail: true, allowTruncatedStart: true });
      if (!report.ok) {
        const f = report.failure!;
        process.stdout.write(`FAIL ${f.reason} at index ${f.index}: ${f.detail} [class ${f.class}, exit ${f.exitCode}]\n`);
        return f.exitCode;
      }
      if (report.anchoredFrom !== '1') throw new AgentrailError('CONSISTENCY_PARTIAL_LOG', 'the log does not start at sequence 1');
      const pick = (ref: string): { note: string; treeSize: number; time?: string } => {
        const list: CheckpointInfo[] = report.checkpointList!;
        if (ref === 'latest') {
          const c = list[list.length - 1];
          if (!c) throw new AgentrailError('CONSISTENCY_NO_CHECKPOINT', 'the log has no checkpoint');
          return { note: c.note, treeSize: c.treeSize, time: String(c.event.time) };
        }
        if (/^[0-9]+$/.test(ref) && !existsSync(ref)) {
          const c = list.find((x) => x.treeSize === Number(ref));
          if (!c) throw new AgentrailError('CONSISTENCY_NO_CHECKPOINT', `no checkpoint with tree size ${ref} in the log`);
          return { note: c.note, treeSize: c.treeSize, time: String(c.event.time) };
        }
        const note = readFileSync(ref, 'utf8');
        const cp = parseCheckpointText(parseNote(note).text);
        if (cp.size > report.leaves!.length) throw new AgentrailError('CONSISTENCY_TRUNCATED', `checkpoint ${ref} has tree size ${cp.size} but the log has ${report.leaves!.length} events`);
        return { note, treeSize: cp.size };
      };
      const A = pick(a);
      const B = pick(b);
      const [lo, hi] = A.treeSize <= B.treeSize ? [A, B] : [B, A];
      file = makeConsistencyProof(report.leaves!, lo, hi);
      if (values.out) writeFileSync(values.out, JSON.stringify(file, null, 2) + '\n');
    }
    const v = verifyConsistencyProofFile(file, keys);
    if (values.json) process.stdout.write(JSON.stringify(v) + '\n');
    else if (v.ok) process.stdout.write(`OK ${v.origin}: tree ${v.treeSize} is consistent with the earlier checkpoint\n`);
    else process.stdout.write(`FAIL ${v.failure!.reason}: ${v.failure!.detail} [class ${v.failure!.class}, exit ${v.failure!.exitCode}]\n`);
    return v.ok ? 0 : v.failure!.exitCode;
  },
};
