import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import { followEvents, humanLine, kafkaSettings, matches, parseSource, readEvents, type EventFilter } from '../sink/sources.js';

const HELP = `usage: agentrail tail SOURCE [options]
  SOURCE                kafka://host:port/topic or a local log directory
  -f, --follow          keep reading new events (Ctrl-C to stop)
  -n, --lines N         without --follow: only the last N matching events (default all)
      --new             with --follow: start at the end instead of the beginning
      --type T          only this type (model.invocation, tool.invocation, … or dev.agentrail.*)
      --agent A         only events whose data.agent id/name contains A
      --trace T         only events of this trace (trace id, traceparent or partition key)
      --json            one JSON event per line instead of the human form
      --config FILE     TLS/SASL settings for Kafka from sink.kafka of this config`;

export const command: Command = {
  name: 'tail',
  summary: 'print events of a Kafka topic or local log, optionally following',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        follow: { type: 'boolean', short: 'f' },
        lines: { type: 'string', short: 'n' },
        new: { type: 'boolean' },
        type: { type: 'string' },
        agent: { type: 'string' },
        trace: { type: 'string' },
        json: { type: 'boolean' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1) throw new AgentrailError('USAGE_TAIL', 'tail needs exactly one SOURCE', { hint: 'agentrail tail --help' });
    const src = parseSource(positionals[0]!);
    const kafka = kafkaSettings(values.config);
    const f: EventFilter = {};
    if (values.type) f.type = values.type;
    if (values.agent) f.agent = values.agent;
    if (values.trace) f.trace = values.trace;
    // `agentrail tail … | head`: a closed pipe ends the command quietly.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
    const print = (ev: Parameters<typeof humanLine>[0]) => process.stdout.write((values.json ? JSON.stringify(ev) : humanLine(ev)) + '\n');
    if (values.follow) {
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      for await (const ev of followEvents(src, kafka, ac.signal, !values.new)) if (matches(ev, f)) print(ev);
      return 0;
    }
    const n = values.lines ? Number(values.lines) : Infinity;
    if (!(n > 0)) throw new AgentrailError('USAGE_TAIL', '--lines must be a positive number');
    const ring: Parameters<typeof humanLine>[0][] = [];
    for await (const { event } of readEvents(src, kafka)) {
      if (!matches(event, f)) continue;
      if (n === Infinity) print(event);
      else {
        ring.push(event);
        if (ring.length > n) ring.shift();
      }
    }
    for (const ev of ring) print(ev);
    return 0;
  },
};
