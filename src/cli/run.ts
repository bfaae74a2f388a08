import { AgentrailError } from '../errors.js';
import { logger } from '../observability/logger.js';
import { decodeBatch } from '../decode/decode-batch.js';
import { rawEventToJson } from '../decode/raw-json.js';
import { createSource } from '../source/create-source.js';
import { COLLECTOR_USAGE, parseCollectorArgs, runUntilStopped, type CollectorCli } from './collector-options.js';
import type { Command } from './main.js';
import { LineOutput } from './output.js';
import { launchStopped } from './launch.js';

const USAGE = `usage: agentrail run [--raw [--raw-payload]] [options] [-- CMD ARGS…]

Without --raw: the agent-action event pipeline (sealed CloudEvents to the local log).
  -- CMD ARGS…                  launch CMD and trace it (and its children) from its first
                                instruction; run ends when CMD exits, with CMD's exit code
  --log-dir DIR                 local log directory (default: config sink.local.dir)
  --stdout                      also print every sealed event as one JSON line on stdout
  --raw                         print raw kernel events as JSON lines (64-bit values as strings;
                                TLS/pipe payloads only as {len, sha256})
  --raw-payload                 with --raw: ALSO print payloads as base64. This writes captured
                                plaintext (prompts, API keys, tokens) to the output: debugging only
  --out FILE|-                  where the JSON lines go (default -, stdout)
${COLLECTOR_USAGE}`;

export interface RunOptions extends CollectorCli {
  raw: boolean;
  rawPayload: boolean;
}

/** `agentrail run --raw`: source → selection → decode → JSON lines. */
async function runRaw(o: RunOptions): Promise<number> {
  const opened = await createSource({ replay: o.replay, realtime: o.realtime, collector: o.collector, selection: o.selection, config: o.config.collector });
  const out = new LineOutput(o.out);
  await opened.start();
  logger.info({ source: opened.source.name }, 'source ready');
  const body = (async () => {
    for await (const batch of opened.source.batches()) {
      const events = decodeBatch(opened.filter(batch));
      let text = '';
      for (const ev of events) text += rawEventToJson(ev, { payload: o.rawPayload }) + '\n';
      await out.write(text);
      if (out.closedByReader) {
        await opened.source.stop();
        break;
      }
    }
  })();
  try {
    await runUntilStopped(o.durationMs, () => opened.source.stop(), body);
  } finally {
    await out.close();
  }
  return 0;
}

export const command: Command = {
  name: 'run',
  summary: 'trace agents: agent-action events, or raw kernel events with --raw',
  async run(argv) {
    const { cli, values, help } = parseCollectorArgs(argv, { raw: { type: 'boolean' }, 'raw-payload': { type: 'boolean' }, 'log-dir': { type: 'string' }, stdout: { type: 'boolean' } });
    if (help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    const o: RunOptions = { ...cli, raw: !!values.raw, rawPayload: !!values['raw-payload'] };
    if (o.rawPayload && !o.raw) throw new AgentrailError('USAGE', '--raw-payload only applies with --raw');
    if (o.raw) return runRaw(o);
    const { runPipeline } = await import('../pipeline.js');
    const base = {
      config: o.config,
      collector: o.collector,
      replay: o.replay,
      realtime: o.realtime,
      selection: o.selection,
      durationMs: o.durationMs,
      ...(typeof values['log-dir'] === 'string' ? { logDir: values['log-dir'] } : {}),
      ...(values.stdout ? { stdout: true } : {}),
    };
    if (o.command.length === 0) return runPipeline(base);
    if (o.replay) throw new AgentrailError('USAGE', '-- CMD cannot be combined with --replay');
    // Launch the command stopped, trace it from its first instruction, stop when it exits.
    const launched = await launchStopped(o.command);
    let code = 0;
    const stopSignal = launched.exited.then(async (c) => {
      code = c;
      await new Promise((r) => setTimeout(r, 500)); // let the last closes and exits drain
    });
    try {
      await runPipeline({ ...base, selection: { ...o.selection, pids: [...o.selection.pids, launched.pid] }, onReady: () => launched.resume(), stopSignal });
    } catch (e) {
      launched.child.kill('SIGKILL');
      throw e;
    }
    return code;
  },
};
