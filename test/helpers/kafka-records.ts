import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { registerCodecs } from '../../src/sink/kafka-client.js';

const { Kafka, logLevel } = kafkajs;

export interface RawRecord {
  partition: number;
  offset: bigint;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** Every record of a topic up to its current high watermarks, raw (no rebuild, no dedupe). */
export async function rawRecords(brokers: string[], topic: string): Promise<RawRecord[]> {
  // Records may be lz4/zstd (the producer may be another thread or process): this client needs the codecs too.
  registerCodecs();
  const kafka = new Kafka({ clientId: 'agentrail-test-raw', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offs = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = new Map(offs.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  const out: RawRecord[] = [];
  if (want.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `agentrail-test-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout reading raw records')), 60_000);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const hi = want.get(partition);
        const off = BigInt(message.offset);
        if (hi === undefined || off >= hi) return;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        out.push({ partition, offset: off, key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
        if (off + 1n >= hi) want.delete(partition);
        if (want.size === 0) {
          clearTimeout(t);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}
