import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { loadConfigFile } from '../config/load.js';
import { kafkaSchema, localLogSchema, type KafkaSinkConfig } from '../config/sink.js';
import { LocalLog } from '../sink/local-log.js';
import { KafkaShipper } from '../sink/kafka-shipper.js';
import { describeKafkaError, makeKafka } from '../sink/kafka-client.js';

/**
 * Retention presets (days) for `kafka init`. Sources: PCI DSS v4.0 req. 10.5.1 (audit log
 * history ≥ 12 months); HIPAA 45 CFR 164.316(b)(2) (documentation 6 years); SOX / SEC
 * 17 CFR 210.2-06 (audit records 7 years); SOC 2 (auditors expect the 12-month review
 * period); OMB M-21-31 (12 months active + 18 months cold = 30 months); GDPR sets no fixed
 * period (storage limitation): choose with --retention-days.
 */
export const RETENTION_PRESETS: Record<string, { days: number; basis: string }> = {
  dev: { days: 7, basis: 'development' },
  pci: { days: 366, basis: 'PCI DSS 10.5.1: 12 months' },
  soc2: { days: 366, basis: 'SOC 2 review period: 12 months' },
  'm21-31': { days: 913, basis: 'OMB M-21-31: 30 months' },
  hipaa: { days: 2192, basis: 'HIPAA 164.316(b)(2): 6 years' },
  sox: { days: 2557, basis: 'SOX / SEC 2-06: 7 years' },
};

const HELP = `usage: agentrail kafka <init|ship|start|stop|status> [options]
  init     create the events and checkpoints topics (and sink.kafka.topics of --config) with retention from a compliance preset
           --preset ${Object.keys(RETENTION_PRESETS).join('|')} (default pci) or --retention-days N
           --partitions N (default 6)  --replication N (default 1)
  ship     ship a local log to Kafka until stopped (SIGTERM/SIGINT): --log DIR
           --until-shipped: exit 0 once everything present at start is acknowledged
  start|stop|status   the development broker (same as npm run kafka:start / kafka:stop)
common:    --config FILE (sink.kafka / sink.local sections), --brokers h:p[,h:p], --topic T,
           --checkpoint-topic T, --mode binary|structured, --compression none|gzip|lz4|zstd,
           --batch-size N, --linger-ms N, --cursor NAME (env AGENTRAIL_KAFKA_BROKERS if no brokers)`;

function kafkaConfigFrom(values: Record<string, string | boolean | undefined>): KafkaSinkConfig {
  const base: Record<string, unknown> = values.config ? { ...loadConfigFile(values.config as string).sink.kafka } : {};
  if (values.brokers) base.brokers = String(values.brokers).split(',');
  if (values.topic) base.topic = values.topic;
  if (values['checkpoint-topic']) base.checkpointTopic = values['checkpoint-topic'];
  if (values.mode) base.mode = values.mode;
  if (values.compression) base.compression = values.compression;
  if (values.cursor) base.cursor = values.cursor;
  if (values['batch-size']) base.batchSize = Number(values['batch-size']);
  if (values['linger-ms']) base.lingerMs = Number(values['linger-ms']);
  if (base.brokers === undefined || (base.brokers as string[]).length === 0) {
    const env = process.env.AGENTRAIL_KAFKA_BROKERS;
    if (env) base.brokers = env.split(',');
  }
  const r = kafkaSchema.safeParse({ ...base, enabled: true });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new AgentrailError('CONFIG_INVALID', `invalid Kafka option ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

async function init(cfg: KafkaSinkConfig, values: Record<string, string | boolean | undefined>): Promise<number> {
  let days: number;
  let basis: string;
  if (values['retention-days']) {
    days = Number(values['retention-days']);
    basis = 'custom';
    if (!(days > 0)) throw new AgentrailError('USAGE_KAFKA_INIT', '--retention-days must be a positive number');
  } else {
    const name = String(values.preset ?? 'pci');
    const p = RETENTION_PRESETS[name];
    if (!p) throw new AgentrailError('USAGE_KAFKA_INIT', `unknown preset "${name}"`, { hint: `one of ${Object.keys(RETENTION_PRESETS).join(', ')}` });
    days = p.days;
    basis = p.basis;
  }
  const partitions = Number(values.partitions ?? 6);
  const replication = Number(values.replication ?? 1);
  const retentionMs = String(Math.round(days * 86_400_000));
  const configEntries = [
    { name: 'retention.ms', value: retentionMs },
    { name: 'retention.bytes', value: '-1' },
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'min.insync.replicas', value: String(Math.min(2, replication)) },
    { name: 'message.timestamp.type', value: 'CreateTime' },
  ];
  const admin = makeKafka(cfg, { retries: 1 }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    // sink.kafka.topics (the SIEM formats) get the events topic's retention and partitions.
    const topics = [cfg.topic, cfg.checkpointTopic, ...cfg.topics.map((t) => t.name)];
    const toCreate = topics.filter((t) => !existing.has(t));
    if (toCreate.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: toCreate.map((topic) => ({ topic, numPartitions: topic === cfg.checkpointTopic ? 1 : partitions, replicationFactor: replication, configEntries })),
      });
    }
    const toAlter = topics.filter((t) => existing.has(t));
    if (toAlter.length) {
      // ResourceTypes.TOPIC = 2
      await admin.alterConfigs({ validateOnly: false, resources: toAlter.map((name) => ({ type: 2, name, configEntries: configEntries.filter((c) => c.name !== 'min.insync.replicas') })) });
    }
    for (const t of topics)
      process.stdout.write(`${toCreate.includes(t) ? 'created' : 'updated'} ${t}: retention ${days} days (${basis})${toCreate.includes(t) ? `, ${t === cfg.checkpointTopic ? 1 : partitions} partitions, replication ${replication}` : ''}\n`);
    return 0;
  } catch (e) {
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function ship(cfg: KafkaSinkConfig, values: Record<string, string | boolean | undefined>): Promise<number> {
  const dir = (values.log as string | undefined) ?? (values.config ? loadConfigFile(values.config as string).sink.local.dir : undefined);
  if (!dir) throw new AgentrailError('USAGE_KAFKA_SHIP', 'kafka ship needs --log DIR (or sink.local.dir in --config)');
  const local = values.config ? loadConfigFile(values.config as string).sink.local : localLogSchema.parse({ dir });
  // The shipper is a reader of the log: it must not truncate or write segments (the sensor does).
  const log = new LocalLog(dir, { readOnly: true, retentionBytes: local.retentionBytes });
  const shipper = new KafkaShipper(log, cfg);
  shipper.start();
  const stopAt = values['until-shipped'] ? log.end() : undefined;
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  let lastReport = 0;
  while (!ac.signal.aborted) {
    if (stopAt && (await shipper.waitShipped(stopAt, 250))) break;
    if (!stopAt) await new Promise((r) => setTimeout(r, 250));
    if (Date.now() - lastReport > 5000 && shipper.stats.lastError) {
      lastReport = Date.now();
      process.stderr.write(`agentrail kafka ship: retrying: ${shipper.stats.lastError}\n`);
    }
  }
  await shipper.stop();
  process.stderr.write(`shipped ${shipper.stats.shipped} events in ${shipper.stats.batches} batches (${shipper.stats.failures} failed attempts retried)\n`);
  return 0;
}

export const command: Command = {
  name: 'kafka',
  summary: 'create topics, ship a local log, run the development broker',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        brokers: { type: 'string' },
        topic: { type: 'string' },
        'checkpoint-topic': { type: 'string' },
        mode: { type: 'string' },
        compression: { type: 'string' },
        cursor: { type: 'string' },
        'batch-size': { type: 'string' },
        'linger-ms': { type: 'string' },
        preset: { type: 'string' },
        'retention-days': { type: 'string' },
        partitions: { type: 'string' },
        replication: { type: 'string' },
        log: { type: 'string' },
        'until-shipped': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const sub = positionals[0];
    if (values.help || !sub) {
      process.stdout.write(HELP + '\n');
      return values.help ? 0 : 2;
    }
    if (sub === 'start' || sub === 'stop' || sub === 'status') {
      const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'kafka.mjs'), sub], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    const cfg = kafkaConfigFrom(values);
    if (sub === 'init') return init(cfg, values);
    if (sub === 'ship') return ship(cfg, values);
    throw new AgentrailError('USAGE_KAFKA', `unknown subcommand "${sub}"`, { hint: 'agentrail kafka --help' });
  },
};
