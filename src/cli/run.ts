import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { AgentrailError } from '../errors.js';
import { logger } from '../observability/logger.js';
import { decodeBatch } from '../decode/decode-batch.js';
import { rawEventToJson } from '../decode/raw-json.js';
import { createSource } from '../source/create-source.js';
import { COLLECTOR_USAGE, parseCollectorArgs, runUntilStopped, type CollectorCli } from './collector-options.js';
import type { Command } from './main.js';
import { LineOutput } from './output.js';
import { launchStopped } from './launch.js';
import { Classifier } from '../classify/classifier.js';
import { redactRawStrings } from '../redact/raw-strings.js';
import { openEventCopy } from './event-copy.js';

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
  --out FILE|-                  where the JSON lines go: raw events with --raw (default -, stdout);
                                without --raw, a copy of every sealed event (- = --stdout)
                                When events go to stdout, the traced command's stdout goes to stderr.
${COLLECTOR_USAGE}`;

export interface RunOptions extends CollectorCli {
  raw: boolean;
  rawPayload: boolean;
}

/**
 * `agentrail run --raw [-- CMD]`: source → selection → decode → JSON lines.
 * Without --raw-payload, argv and paths go through the content detectors too:
 * a bearer token or key on a command line is printed as a hash, never as is.
 */
async function runRaw(o: RunOptions): Promise<number> {
  if (o.command.length && o.replay) throw new AgentrailError('USAGE', '-- CMD cannot be combined with --replay');
  const launched = o.command.length ? await launchStopped(o.command, { stdoutToStderr: o.out === '-' }) : undefined;
  const selection = launched ? { ...o.selection, pids: [...o.selection.pids, launched.pid] } : o.selection;
  let opened;
  try {
    opened = await createSource({ replay: o.replay, realtime: o.realtime, collector: o.collector, selection, config: o.config.collector });
  } catch (e) {
    launched?.child.kill('SIGKILL');
    throw e;
  }
  const out = new LineOutput(o.out);
  const cls = o.rawPayload ? undefined : new Classifier();
  await opened.start();
  launched?.resume();
  logger.info({ source: opened.source.name }, 'source ready');
  let code = 0;
  void launched?.exited.then(async (c) => {
    code = c;
    await new Promise((r) => setTimeout(r, 500)); // let the last closes and exits drain
    await opened.source.stop();
  });
  const body = (async () => {
    for await (const batch of opened.source.batches()) {
      const events = decodeBatch(opened.filter(batch));
      let text = '';
      for (const ev of events) text += rawEventToJson(cls ? redactRawStrings(ev, cls) : ev, { payload: o.rawPayload }) + '\n';
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
  return code;
}

/**
 * collector.nice for every thread: Linux nice values are per thread (V8's and libuv's workers already
 * run) and threads started later (the sensor's poll thread) inherit their creator's.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
  } catch (e) {
    // Raising priority (nice < 0) needs CAP_SYS_NICE: run as configured otherwise, and say so.
    logger.warn({ nice, code: (e as NodeJS.ErrnoException).code }, 'cannot set collector.nice; running at the inherited priority');
  }
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
    lowerPriority(o.config.collector.nice);
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
      ...(values.stdout || values.out === '-' ? { stdout: true } : {}),
      // --out FILE in event mode: every sealed event also goes to FILE as a JSON line.
      ...(typeof values.out === 'string' && values.out !== '-' ? { copyTo: openEventCopy(values.out) } : {}),
    };
    const closeCopy = async () => {
      if (!base.copyTo) return;
      base.copyTo.end();
      await once(base.copyTo, 'close').catch(() => undefined);
    };
    if (o.command.length === 0) return runPipeline(base).finally(closeCopy);
    if (o.replay) throw new AgentrailError('USAGE', '-- CMD cannot be combined with --replay');
    // Launch the command stopped, trace it from its first instruction, stop when it exits.
    const launched = await launchStopped(o.command, { stdoutToStderr: !!base.stdout });
    let code = 0;
    const stopSignal = launched.exited.then(async (c) => {
      code = c;
      await new Promise((r) => setTimeout(r, 500)); // let the last closes and exits drain
    });
    try {
      const rc = await runPipeline({ ...base, selection: { ...o.selection, pids: [...o.selection.pids, launched.pid] }, onReady: () => launched.resume(), stopSignal });
      // The sensor failed (blind): say so by the exit code, whatever CMD does.
      if (rc !== 0) return rc;
    } catch (e) {
      launched.child.kill('SIGKILL');
      throw e;
    } finally {
      await closeCopy();
    }
    return code;
  },
};
