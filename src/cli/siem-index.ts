import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import type { CloudEvent } from '../contracts/envelope.js';
import { kafkaSettings, parseSource, readEvents } from '../sink/sources.js';
import { OpenSearchBulkWriter } from '../sink/opensearch/bulk-writer.js';
import { runKafkaIndexer } from '../sink/opensearch/kafka-indexer.js';
import { DEFAULT_INDEX } from '../sink/opensearch/template.js';

const HELP = `usage: agentrail index SOURCE --opensearch URL [options]
  SOURCE               kafka://host:port/topic (a consumer group; runs until SIGINT/SIGTERM, or --once)
                       or a local log directory (indexed once)
  --opensearch URL     the OpenSearch node, e.g. http://127.0.0.1:9200
  --index NAME         target index (default ${DEFAULT_INDEX}; the installed template covers agentrail-ecs*)
  --group ID           Kafka consumer group holding the indexer's position (default agentrail-indexer-<index>)
  --startup-timeout-ms N  give up with one line if OpenSearch does not answer at start (default 15000);
                       once running, a failing bulk request is retried until it succeeds or the indexer stops
  --once               stop when the topic's end at start is indexed (catch-up or replay with a new --group)
  --config FILE        TLS/SASL settings for Kafka from sink.kafka of this config
Documents are ECS (agentrail export --format ecs) with _id = event id: a replay never duplicates.
Prints one JSON line of counts when it stops.`;

export const command: Command = {
  name: 'index',
  summary: 'bulk-index a topic or local log into OpenSearch as ECS documents (_id = event id)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        opensearch: { type: 'string' },
        index: { type: 'string', default: DEFAULT_INDEX },
        group: { type: 'string' },
        once: { type: 'boolean', default: false },
        'startup-timeout-ms': { type: 'string', default: '15000' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1 || !values.opensearch) throw new AgentrailError('USAGE_INDEX', 'index needs SOURCE and --opensearch URL', { hint: 'agentrail index --help' });
    const index = values.index ?? DEFAULT_INDEX;
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(index)) throw new AgentrailError('USAGE_INDEX', `--index "${index}" is not a valid OpenSearch index name`);
    const startupGiveUpMs = Number(values['startup-timeout-ms']);
    if (!Number.isInteger(startupGiveUpMs) || startupGiveUpMs < 0) throw new AgentrailError('USAGE_INDEX', '--startup-timeout-ms must be a whole number of milliseconds');
    const src = parseSource(positionals[0]!);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const writer = new OpenSearchBulkWriter({ url: values.opensearch, index, signal: abort.signal, startupGiveUpMs });
    try {
      if (src.kind === 'kafka') {
        const s = await runKafkaIndexer({
          kafka: kafkaSettings(values.config),
          brokers: src.brokers,
          topic: src.topic,
          groupId: values.group ?? `agentrail-indexer-${index}`,
          writer,
          once: values.once ?? false,
          signal: abort.signal,
        });
        process.stdout.write(JSON.stringify({ ...s, indexed: writer.stats.indexed, rejected: writer.stats.rejected, retries: writer.stats.retries }) + '\n');
      } else {
        await writer.ensureTemplate();
        let batch: CloudEvent[] = [];
        let records = 0;
        for await (const { event } of readEvents(src)) {
          batch.push(event);
          records++;
          if (batch.length >= 500) {
            await writer.write(batch);
            batch = [];
          }
        }
        if (batch.length > 0) await writer.write(batch);
        process.stdout.write(JSON.stringify({ records, indexed: writer.stats.indexed, rejected: writer.stats.rejected, retries: writer.stats.retries }) + '\n');
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await writer.close().catch(() => {});
    }
    return writer.stats.rejected > 0 ? 1 : 0;
  },
};
