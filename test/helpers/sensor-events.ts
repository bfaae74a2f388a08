/**
 * A started native Sensor whose records are decoded into one array, for the
 * kernel tests that compare captured bytes with what a real server saw.
 */
import { createSensor, type NativeSensor } from '../../src/native/addon.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';

export function startCollectingSensor(): { sensor: NativeSensor; events: RawEvent[] } {
  const events: RawEvent[] = [];
  const sensor = createSensor({ flushIntervalMs: 0 });
  try {
    sensor.start((buf) => {
      if (buf) for (const e of decodeBatch(buf)) events.push(e);
    });
  } catch (e) {
    sensor.stop();
    throw e;
  }
  return { sensor, events };
}
