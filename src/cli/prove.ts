import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { verifyLog } from '../verify/log-verifier.js';
import { loadKeyringFile, readLines, sourceFiles } from '../verify/node-reader.js';
import { makeInclusionProof } from '../verify/proof.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail prove EVENT_ID --log DIR --out FILE [--keys FILE] [--at latest|first]

Writes an inclusion proof (the event, its leaf index, the tree size, the RFC 9162 audit path and the
signed checkpoint) that \`agentrail verify --proof FILE --keys KEYRING\` checks offline. The log is
verified first (signatures too when --keys is given). --at picks the newest (default) or the first
checkpoint covering the event.`;

export const command: Command = {
  name: 'prove',
  summary: 'write an inclusion proof for one event',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { log: { type: 'string' }, out: { type: 'string' }, keys: { type: 'string' }, at: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const id = positionals[0];
    if (!id || !values.log || !values.out) throw new AgentrailError('USAGE', 'EVENT_ID, --log and --out are required', { hint: HELP.split('\n')[0] });
    if (values.at && values.at !== 'latest' && values.at !== 'first') throw new AgentrailError('USAGE', '--at is latest or first');
    let files: string[];
    try {
      files = sourceFiles(values.log);
    } catch (e) {
      throw new AgentrailError('IO_READ', `cannot read ${values.log}`, { cause: e });
    }
    const keys = values.keys ? await loadKeyringFile(values.keys) : [];
    const report = await verifyLog(readLines(files), { keys, keepLeaves: true, allowUnsignedTail: true, allowTruncatedStart: true, skipSignatures: !values.keys });
    if (!report.ok) {
      const f = report.failure!;
      process.stderr.write(`agentrail prove: the log does not verify: ${f.reason} at index ${f.index}: ${f.detail}\n`);
      return f.exitCode;
    }
    if (report.anchoredFrom !== '1') throw new AgentrailError('PROVE_PARTIAL_LOG', 'the log does not start at sequence 1, so audit paths cannot be computed');
    const index = report.ids!.get(id);
    if (index === undefined) throw new AgentrailError('PROVE_NOT_FOUND', `no event with id ${id} in the log`);
    const covering = report.checkpointList!.filter((c) => c.treeSize > index);
    const cp = values.at === 'first' ? covering[0] : covering[covering.length - 1];
    if (!cp) throw new AgentrailError('PROVE_NOT_SIGNED', `event ${id} is not yet covered by a checkpoint`, { hint: 'wait for the next checkpoint' });
    // The event is re-read from the proof's own canonical input: fetch it by index from the log.
    let event: Record<string, unknown> | undefined;
    let i = 0;
    for await (const line of readLines(files)) {
      if (i++ === index) {
        event = JSON.parse(Buffer.from(line.bytes).toString('utf8')) as Record<string, unknown>;
        break;
      }
    }
    const proof = makeInclusionProof(report.leaves!, index, event!, { note: cp.note, treeSize: cp.treeSize, time: String(cp.event.time) });
    writeFileSync(values.out, JSON.stringify(proof, null, 2) + '\n');
    process.stdout.write(`wrote ${values.out}: event ${id} = leaf ${index} of tree ${cp.treeSize} (${proof.auditPath.length} hashes)\n`);
    return 0;
  },
};
