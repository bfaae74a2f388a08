import { closeSync, fsyncSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import canonicalizeModule from 'canonicalize';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import { openTemp, outTarget } from './out-target.js';
import { mapperFor, parseFormat } from '../sink/formats/index.js';
import { kafkaSettings, matches, parseSource, readEvents, type EventFilter } from '../sink/sources.js';

const canonicalize = canonicalizeModule as unknown as (o: unknown) => string;

const HELP = `usage: agentrail export SOURCE --out FILE [options]
  SOURCE             kafka://host:port/topic (all partitions, deduped by id, chain order) or a local log directory
  --out FILE         write canonical sealed lines (the local log line format) that 'agentrail verify FILE' reads
  --format F         cloudevents (default; verifiable) | ocsf | ecs | splunk-hec (one JSON record per line, each linking back by event id, sequence, leaf hash)
  --type/--agent/--trace   filters (a filtered export no longer verifies as a chain)
  --config FILE      TLS/SASL settings for Kafka from sink.kafka of this config`;

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
    const out = outTarget(values.out, '--out', 'EXPORT_OUT');
    const { fd, tmp } = openTemp(out, '--out', 'EXPORT_OUT');
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
