import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { kafkaSchema } from '../../src/config/sink.js';
import { parseConfig } from '../../src/config/load.js';
import { shipsOnThread } from '../../src/sink/index.js';

test('sink.kafka.thread: auto by default, a thread only with a core beyond the pipeline workers; true/false as given; other values one line', () => {
  const k = kafkaSchema.parse({ enabled: true, brokers: ['127.0.0.1:9092'] });
  assert.equal(k.thread, 'auto');
  const cores = availableParallelism();
  assert.equal(shipsOnThread(k, 1), cores > 1);
  assert.equal(shipsOnThread(k, cores), false, 'every core already has a pipeline thread');
  assert.equal(shipsOnThread(k, cores - 1), cores > 1 ? true : false);
  assert.equal(shipsOnThread({ ...k, thread: true }, cores), true);
  assert.equal(shipsOnThread({ ...k, thread: false }, 1), false);
  assert.throws(() => parseConfig({ sink: { kafka: { thread: 'yes' } } }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /sink\.kafka\.thread/.test(e.message) && !e.message.includes('\n'));
});
