import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import canonicalizeModule from 'canonicalize';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import { mapperFor, parseFormat } from '../sink/formats/index.js';
import { kafkaSettings, matches, parseSource, readEvents, type EventFilter } from '../sink/sources.js';

const canonicalize = canonicalizeModule as unknown as (o: unknown) => string;

const HELP = `usage: agentrail export SOURCE --out FILE [options]
  SOURCE             kafka://host:port/topic (all partitions, deduped by id, chain order) or a local log directory
  --out FILE         write canonical sealed lines (the local log line format) that 'agentrail verify FILE' reads
  --format F         cloudevents (default; verifiable) | ocsf | ecs | splunk-hec (one JSON record per line, each linking back by event id, sequence, leaf hash)
  --type/--agent/--trace   filters (a filtered export no longer verifies as a chain)
  --config FILE      TLS/SASL settings for Kafka from sink.kafka of this config`;

/**
 * Where --out really goes: a symlink is written through (its target is replaced, not the link), and
 * anything that is not a regular file (a device such as /dev/full, a FIFO, a directory) is refused,
 * because the export is written to a temporary file and renamed over the target.
 */
function exportTarget(path: string): string {
  let target = path;
  try {
    if (lstatSync(path).isSymbolicLink()) target = realpathSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw new AgentrailError('EXPORT_OUT', `--out ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    if (!statSync(target).isFile()) throw new AgentrailError('EXPORT_OUT', `--out ${path} is not a regular file`, { hint: 'name a regular file; export never replaces a device, FIFO or directory' });
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new AgentrailError('EXPORT_OUT', `--out ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return target;
}

export const command: Command = {
  name: 'export',
  summary: 'write a topic or local log to a file of canonical lines that verify reads',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        type: { type: 'string' },
        agent: { type: 'string' },
        trace: { type: 'string' },
        config: { type: 'string' },
        format: { type: 'string', default: 'cloudevents' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1 || !values.out) throw new AgentrailError('USAGE_EXPORT', 'export needs SOURCE and --out FILE', { hint: 'agentrail export --help' });
    const map = mapperFor(parseFormat(values.format ?? 'cloudevents'));
    const src = parseSource(positionals[0]!);
    const f: EventFilter = {};
    if (values.type) f.type = values.type;
    if (values.agent) f.agent = values.agent;
    if (values.trace) f.trace = values.trace;
    const out = exportTarget(values.out);
    // 'wx': a pre-planted file or symlink at the temporary name is never written through.
    const tmp = `${out}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'wx', 0o644);
    let n = 0;
    try {
      let buf: string[] = [];
      for await (const { event, line } of readEvents(src, kafkaSettings(values.config))) {
        if (!matches(event, f)) continue;
        buf.push(map ? JSON.stringify(map(event)) : (line ?? canonicalize(event)), '\n');
        n++;
        if (buf.length >= 2000) {
          writeSync(fd, buf.join(''));
          buf = [];
        }
      }
      if (buf.length) writeSync(fd, buf.join(''));
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, out);
    process.stderr.write(`exported ${n} events to ${out}\n`);
    return 0;
  },
};
