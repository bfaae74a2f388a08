import { realpathSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { verifyLog, type VerifyReport } from '../verify/log-verifier.js';
import { loadKeyringFile, readLines, readSignedHead, sourceFiles } from '../verify/node-reader.js';
import { CONSISTENCY_FORMAT, verifyConsistencyProofFile, verifyInclusionProofFile } from '../verify/proof.js';
import type { Failure } from '../verify/reasons.js';
import type { Command } from './main.js';

const HELP = `usage: agentrail verify SOURCE --keys FILE [--json] [--allow-unsigned-tail] [--allow-truncated-start] [--checkpoint NOTE]... [--progress] [--config FILE] [--origin ORIGIN]
       agentrail verify --proof FILE --keys FILE [--json]

SOURCE is a local log directory (<dir>/segments/*.jsonl), a file export (one canonical event per line)
or a Kafka topic kafka://host:port/topic (all partitions, deduped by id, in chain order).
Checks canonical bytes, sequence, prevhash chain, Merkle roots of every checkpoint, checkpoint
signatures (keyring FILE, see docs/integrity.md) and, with --checkpoint, that the log contains the
given externally kept signed checkpoints. A log must start at sequence 1, or at events bound by a
trusted checkpoint (--checkpoint) whose signed chain head the log reaches; --allow-truncated-start
accepts a log whose oldest segments retention removed, and says its start is unverified.
--proof checks an inclusion or consistency proof offline.
Exit codes: 0 ok, 10 format, 11 sequence, 12 chain, 13 merkle, 14 signature, 15 consistency,
16 truncation, 17 proof, 2 usage, 1 I/O.`;

function keyringInside(keys: string, source: string): boolean {
  try {
    const k = realpathSync(keys);
    const d = realpathSync(statSync(source).isDirectory() ? source : dirname(source));
    return k === d || k.startsWith(d + sep);
  } catch {
    return false;
  }
}

function io<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new AgentrailError('IO_READ', `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function bar(frac: number): string {
  const w = 24;
  const n = Math.max(0, Math.min(w, Math.round(frac * w)));
  return '[' + '#'.repeat(n) + '.'.repeat(w - n) + ']';
}

function describeFailure(f: Failure): string {
  const where = f.index >= 0 ? ` at index ${f.index}${f.sequence ? ` (sequence ${f.sequence})` : ''}` : '';
  return `FAIL ${f.reason}${where}: ${f.detail} [class ${f.class}, exit ${f.exitCode}]`;
}

export function publicReport(r: VerifyReport): Omit<VerifyReport, 'leaves' | 'ids' | 'checkpointList'> {
  const { leaves: _l, ids: _i, checkpointList: _c, ...rest } = r;
  return rest;
}

export const command: Command = {
  name: 'verify',
  summary: 'verify a sealed log or a proof offline',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        keys: { type: 'string' },
        json: { type: 'boolean' },
        proof: { type: 'string' },
        progress: { type: 'boolean' },
        'allow-unsigned-tail': { type: 'boolean' },
        'allow-truncated-start': { type: 'boolean' },
        checkpoint: { type: 'string', multiple: true },
        config: { type: 'string' },
        origin: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (!values.keys) throw new AgentrailError('USAGE', '--keys FILE is required', { hint: 'agentrail verify --help' });
    const keys = await loadKeyringFile(values.keys).catch((e: Error) => {
      throw new AgentrailError('CONFIG_KEYRING', `keyring ${values.keys}: ${e.message}`);
    });
    if (values.proof) {
      const file = io(values.proof, () => JSON.parse(readFileSync(values.proof!, 'utf8')) as { format?: string });
      const v = file.format === CONSISTENCY_FORMAT ? verifyConsistencyProofFile(file, keys) : verifyInclusionProofFile(file, keys);
      if (values.json) process.stdout.write(JSON.stringify(v) + '\n');
      else if (v.ok)
        process.stdout.write(
          file.format === CONSISTENCY_FORMAT
            ? `OK consistency proof: ${v.origin} tree ${v.treeSize} extends the earlier checkpoint\n`
            : `OK inclusion proof: leaf ${v.leafIndex} is in ${v.origin} tree ${v.treeSize}\n`,
        );
      else process.stdout.write(describeFailure(v.failure!) + '\n');
      return v.ok ? 0 : v.failure!.exitCode;
    }
    const source = positionals[0];
    if (!source) throw new AgentrailError('USAGE', 'SOURCE (log directory or file) is required', { hint: 'agentrail verify --help' });
    const isKafka = source.startsWith('kafka://'); // kafka://host:port/topic (helper D, src/sink/kafka-reader.ts)
    // A keyring inside the log it checks proves nothing against whoever can write the log: they can
    // re-sign with their own key and swap the public key. Say so on every run.
    if (!isKafka && values.keys && keyringInside(values.keys, source)) {
      process.stderr.write(`warning: the keyring ${values.keys} is inside the log directory it verifies; an attacker who can write the log can replace it. Keep a copy of the verifier key elsewhere and pass that.\n`);
    }
    const files = isKafka ? [] : io(source, () => sourceFiles(source));
    // A sensor's head.note is padded with newlines (rewritten in place): any note is taken up to its end.
    const witnesses = (values.checkpoint ?? []).map((f) => io(f, () => readFileSync(f, 'utf8').replace(/\n+$/, '\n')));
    const showProgress = values.progress || process.stderr.isTTY;
    const started = Date.now();
    const totalBytes = files.reduce((n, f) => n + io(f, () => statSync(f).size), 0);
    // kafka:// sources use helper D's topic reader, loaded only when needed; TLS/SASL from --config.
    const lines = isKafka
      ? (await import('../sink/kafka-reader.js')).kafkaReadLines(source, (await import('../sink/sources.js')).kafkaSettings(values.config))
      : readLines(files);
    // A log directory holds the chain head its sensor signed after its last write.
    const signedHead = isKafka ? undefined : readSignedHead(source);
    const report = await verifyLog(lines, {
      keys,
      witnesses,
      ...(signedHead !== undefined ? { signedHead } : {}),
      allowUnsignedTail: !!values['allow-unsigned-tail'],
      allowTruncatedStart: !!values['allow-truncated-start'],
      ...(values.origin ? { origin: values.origin } : {}),
      ...(showProgress
        ? {
            onProgress: (lines: number, bytes: number) => {
              const rate = Math.round(lines / Math.max(0.001, (Date.now() - started) / 1000));
              const pct = totalBytes > 0 ? ` ${bar(bytes / totalBytes)} ${((100 * bytes) / totalBytes).toFixed(0)}%` : '';
              process.stderr.write(`\rverify:${pct} ${lines} lines, ${(bytes / 1048576).toFixed(1)} MiB, ${rate} lines/s`);
            },
          }
        : {}),
    });
    if (showProgress) process.stderr.write('\n');
    if (values.json) {
      process.stdout.write(JSON.stringify(publicReport(report)) + '\n');
    } else if (report.ok) {
      const cp = report.lastCheckpoint;
      process.stdout.write(
        `OK ${source}: ${report.lines} events (sequence ${report.startSequence}..${report.lastSequence}), ${report.checkpoints} checkpoints` +
          (cp ? `, last checkpoint tree size ${cp.treeSize} root ${cp.root} signed by ${cp.keyName}` : '') +
          `, start bound by ${report.startBound === 'genesis' ? 'the genesis (sequence 1)' : report.startBound === 'trusted-checkpoint' ? 'a trusted checkpoint' : 'nothing (--allow-truncated-start)'}` +
          '\n',
      );
      for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
    } else {
      process.stdout.write(describeFailure(report.failure!) + '\n');
    }
    return report.ok ? 0 : report.failure!.exitCode;
  },
};
