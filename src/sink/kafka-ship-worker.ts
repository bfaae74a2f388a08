/**
 * The Kafka shipper on its own thread (`sink.kafka.thread`, `auto` by default): the same KafkaShipper as
 * `agentrail kafka ship`, over a read-only view of the local log, so producing, compressing and
 * encoding records never take the pipeline's event loop. The main thread tells it when lines were
 * appended; its durable cursor file is the hand-off, as with a shipper in another process.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAgentrailError } from '../errors.js';
import { ownThreadMetrics } from '../observability/thread-metrics.js';
import { KafkaShipper, probeAtStart } from './kafka-shipper.js';
import { LocalLog } from './local-log.js';
import type { FromShipper, ShipperInit, ToShipper } from './kafka-ship-messages.js';

const port = parentPort!;
const init = workerData as ShipperInit;
const post = (m: FromShipper) => port.postMessage(m);

try {
  if (init.probe) await probeAtStart(init.cfg);
  const log = new LocalLog(init.dir, { readOnly: true });
  const shipper = new KafkaShipper(log, init.cfg, (pos, stats) => post({ t: 'progress', pos, stats: { ...stats } }));
  port.on('message', (m: ToShipper) => {
    if (m.t === 'append') log.emit('append');
    else if (m.t === 'metrics') void ownThreadMetrics().then((metrics) => post({ t: 'metrics', metrics }));
    else if (m.t === 'stop') {
      void (async () => {
        await shipper.stop(m.drainMs ? { drainMs: m.drainMs } : {});
        post({ t: 'stopped', pos: shipper.position(), stats: { ...shipper.stats }, metrics: await ownThreadMetrics() });
        port.close();
      })();
    }
  });
  shipper.start();
  post({ t: 'ready' });
} catch (e) {
  post({ t: 'failed', code: isAgentrailError(e) ? e.code : 'SINK_SHIPPER_START', message: e instanceof Error ? e.message : String(e), ...(isAgentrailError(e) && e.hint ? { hint: e.hint } : {}) });
}
