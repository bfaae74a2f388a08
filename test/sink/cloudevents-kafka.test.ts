import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromKafkaRecord, toKafkaRecord, STRUCTURED_CT } from '../../src/sink/cloudevents-kafka.js';
import { parseKafkaUrl } from '../../src/sink/kafka-reader.js';
import { canonicalBytes } from '../../src/seal/canonical.js';
import { matches } from '../../src/sink/sources.js';
import { openSealed, sealEvents, tmpDir } from './sealed.js';

test('CloudEvents Kafka binding: binary and structured records rebuild the exact sealed bytes', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir);
  await sealEvents(sealer, 40);
  await sealer.close();
  const lines = [...log.scan()].map((e) => e.line);
  assert.ok(lines.some((l) => l.includes('"dev.agentrail.log.checkpoint"')), 'checkpoints included');
  for (const line of lines) {
    const ev = JSON.parse(line) as Record<string, unknown>;
    const bin = toKafkaRecord(line, 'binary').record;
    assert.equal(bin.headers['ce_specversion'], '1.0');
    assert.equal(bin.headers['ce_id'], ev.id);
    assert.equal(bin.headers['ce_source'], ev.source);
    assert.equal(bin.headers['ce_type'], ev.type);
    assert.equal(bin.headers['ce_time'], ev.time);
    assert.equal(bin.headers['ce_sequence'], ev.sequence);
    assert.equal(bin.headers['ce_prevhash'], ev.prevhash);
    assert.equal(bin.headers['content-type'], 'application/json');
    assert.equal(bin.headers['ce_datacontenttype'], undefined, 'datacontenttype travels as content-type');
    assert.equal(bin.headers['ce_data'], undefined);
    assert.deepEqual(JSON.parse(bin.value.toString()), ev.data, 'binary value = data');
    assert.equal(bin.key, (ev.partitionkey as string | undefined) ?? ev.source, 'key = partitionkey (else source)');
    const headersAsBuffers = Object.fromEntries(Object.entries(bin.headers).map(([k, v]) => [k, Buffer.from(v)]));
    assert.equal(canonicalBytes(fromKafkaRecord({ value: bin.value, headers: headersAsBuffers })).toString(), line);

    const st = toKafkaRecord(line, 'structured').record;
    assert.equal(st.headers['content-type'], STRUCTURED_CT);
    assert.equal(st.value.toString(), line, 'structured value = the whole event');
    assert.equal(canonicalBytes(fromKafkaRecord({ value: st.value, headers: { 'content-type': Buffer.from(STRUCTURED_CT) } })).toString(), line);
  }
  assert.equal(fromKafkaRecord({ value: Buffer.from('{}'), headers: {} }), undefined, 'a non-CloudEvent record is recognised');
});

test('kafka:// URLs and tail filters', () => {
  assert.deepEqual(parseKafkaUrl('kafka://127.0.0.1:9092,127.0.0.1:9093/agentrail.events'), { brokers: ['127.0.0.1:9092', '127.0.0.1:9093'], topic: 'agentrail.events' });
  assert.throws(() => parseKafkaUrl('kafka://x'), /kafka:\/\/host:port\/topic/);
  const ev = {
    specversion: '1.0' as const, id: '1', source: 's', type: 'dev.agentrail.model.invocation', time: 't', datacontenttype: 'application/json' as const,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', data: { agent: { id: 'did:agent:infra-manager' } },
  };
  assert.equal(matches(ev, { type: 'model.invocation' }), true);
  assert.equal(matches(ev, { type: 'tool.invocation' }), false);
  assert.equal(matches(ev, { agent: 'infra-manager' }), true);
  assert.equal(matches(ev, { agent: 'other' }), false);
  assert.equal(matches(ev, { trace: '0af7651916cd43dd8448eb211c80319c' }), true);
  assert.equal(matches(ev, { trace: 'ffff' }), false);
});

test('stdout sink: TeeSink writes the local log first and copies canonical lines to the stream', async () => {
  const { PassThrough } = await import('node:stream');
  const { StdoutSink, TeeSink } = await import('../../src/sink/stdout.js');
  const { LocalLog } = await import('../../src/sink/local-log.js');
  const { Sealer } = await import('../../src/seal/sealer.js');
  const { KeySet } = await import('../../src/seal/keys.js');
  const { testKey, sampleEvent } = await import('./sealed.js');
  const dir = tmpDir();
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const log = new LocalLog(dir, { fsync: 'never' });
  const sealer = await Sealer.open({ sink: new TeeSink(log, [new StdoutSink(out)]), source: 'urn:t', keys: new KeySet([testKey.key]) });
  for (let i = 0; i < 20; i++) sealer.seal(sampleEvent('urn:t', i));
  await sealer.close();
  const fromLog = [...new LocalLog(dir, { readOnly: true }).scan()].map((e) => e.line);
  assert.equal(text, fromLog.join('\n') + '\n');
  assert.ok(fromLog.length >= 22);
});
