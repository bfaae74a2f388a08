import { hostname } from 'node:os';
import { AgentrailError } from '../errors.js';
import { logger } from '../observability/logger.js';
import { CaptureWriter } from '../source/capture-file.js';
import { createSource } from '../source/create-source.js';
import { COLLECTOR_USAGE, parseCollectorArgs, runUntilStopped } from './collector-options.js';
import type { Command } from './main.js';

const USAGE = `usage: agentrail record --out FILE [options]

Writes the raw record stream to a capture file (format: docs/collectors.md),
one checksummed block per batch; replay it with agentrail run --raw --replay FILE.
A capture holds TLS/pipe plaintext: treat it like the secrets it may contain.
  --out FILE                    the capture file to write
${COLLECTOR_USAGE}`;

export const command: Command = {
  name: 'record',
  summary: 'record the raw kernel stream into a capture file',
  async run(argv) {
    const { cli, help } = parseCollectorArgs(argv, {});
    if (help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (cli.out === '-') throw new AgentrailError('USAGE', 'record needs --out FILE (a capture is binary)', { hint: 'see --help' });
    const opened = await createSource({ replay: cli.replay, realtime: cli.realtime, collector: cli.collector, selection: cli.selection, config: cli.config.collector });
    await opened.start();
    logger.info({ source: opened.source.name }, 'source ready');
    const w = CaptureWriter.create(cli.out, { host: hostname() });
    const body = (async () => {
      for await (const batch of opened.source.batches()) w.write(opened.filter(batch));
    })();
    try {
      await runUntilStopped(cli.durationMs, () => opened.source.stop(), body);
    } finally {
      w.close();
    }
    logger.info({ file: cli.out, blocks: w.blocks, records: w.records, bytes: w.bytesWritten }, 'capture written');
    return 0;
  },
};
