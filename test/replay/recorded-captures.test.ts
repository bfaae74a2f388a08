/**
 * Recorded captures (test/fixtures/captures, recorded from the real kernel by
 * scripts/record-fixtures.mjs while real SDK agents talked to the local HTTPS
 * mock) replayed through the real CLI, `agentrail run --replay`: the trail
 * must match what the SDKs returned and the recorded expectation; damaged
 * variants derived here (truncated streams, garbage, a compression bomb, a
 * huge body, invalid UTF-8, interleaved connections) must not crash the
 * sensor, must be counted, and must not leak the damaged bodies; re-chunking
 * the TLS records at every size must not change the outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { cliEntry, repoRoot } from '../../src/paths.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { readLogEvents, summarize, type CaptureSummary, type Ev } from './capture-summary.js';
import {
  FIXTURE_HMAC_KEY, capturePath, findResponse, interleave, listCaptures, mergeCalls, readEvents, readExpected, responseBytes, runStages,
  spliceResponse, splitCalls, splitChunks, truncateStream, writeCapture,
} from './capture-tools.js';

const addFormats = addFormatsImport as unknown as (a: Ajv2020) => void;

/** Plaintext the fixtures carry (scripts/record-fixtures.mjs FIXTURE): none of it may reach an output. */
const FIXTURE_PLAINTEXT = [
  'Summarize the quarterly report',
  'jane.doe@example.com',
  'The report shows steady growth',
  'sk-fixture-not-a-real-key',
  'sk-ant-fixture-not-a-real-key',
  'AIza-fixture-not-a-real-key',
  'Quarterly numbers for',
  '4111 1111 1111 1111',
  'customer record found',
];

const work = mkdtempSync(join(tmpdir(), 'agentrail-replay-'));
const cfgFile = join(work, 'replay.yaml');
// A fixed deployment key (test/fixtures/captures/replay.hmac): short outputs are keyed, and expected.json holds
// their HMACs under it, computed independently of the sensor (docs/testing.md, recorded captures).
writeFileSync(cfgFile, `observability:\n  httpEnabled: false\nseal:\n  keyDir: ${join(work, 'keys')}\n  hmacKeyFile: ${FIXTURE_HMAC_KEY}\n`);
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

interface Replay {
  status: number | null;
  events: Ev[];
  stderr: string;
  logText: string;
  stageErrors: Record<string, number>;
  drops: Record<string, number>;
}

let seq = 0;
/** `agentrail run --replay FILE --log-dir DIR`; counted errors come from the final "pipeline stopped" log line. */
function replay(file: string): Promise<Replay> {
  const logDir = join(work, `log-${seq++}`);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cliEntry, 'run', '--replay', file, '--log-dir', logDir, '--config', cfgFile], {
      cwd: repoRoot,
      env: { ...process.env, AGENTRAIL_ROOT: repoRoot },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('error', reject);
    c.on('exit', (status) => {
      clearTimeout(timer);
      const stopped = stderr.split('\n').filter((l) => l.includes('"pipeline stopped"')).map((l) => JSON.parse(l) as { stageErrors?: Record<string, number>; drops?: Record<string, number> })[0];
      let events: Ev[] = [];
      let logText = stdout + stderr;
      try {
        events = readLogEvents(logDir);
        for (const f of readdirSync(join(logDir, 'segments'))) logText += readFileSync(join(logDir, 'segments', f), 'latin1');
      } catch {
        /* no log: the status assertion reports it */
      }
      resolve({ status, events, stderr, logText, stageErrors: stopped?.stageErrors ?? {}, drops: stopped?.drops ?? {} });
    });
  });
}

/** At most two replays at once (CI has two cores). */
async function inPairs<T, R>(items: T[], fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

function assertNoPlaintext(r: Replay, extra: string[], where: string): void {
  for (const p of [...FIXTURE_PLAINTEXT, ...extra]) assert.ok(!r.logText.includes(p), `${where}: plaintext ${JSON.stringify(p.slice(0, 24))} found in the output or the sensor's log`);
}

const ofPid = (s: CaptureSummary, pid: number) => ({ models: s.models.filter((m) => m.pid === pid), tools: s.tools.filter((t) => t.pid === pid), data: s.data.filter((d) => d.pid === pid) });
/** Counters (stage.reason) that grew over the clean replay's. */
const grown = (r: Replay, clean: Replay) => {
  const out: string[] = [];
  for (const [what, now, before] of [['errors', r.stageErrors, clean.stageErrors], ['drops', r.drops, clean.drops]] as const)
    for (const [k, n] of Object.entries(now)) if (n > (before[k] ?? 0)) out.push(`${what}:${k}`);
  return out;
};

test('recorded SDK captures replay to the recorded trail: model ids, tokens, output hashes, tools, links, schemas, no plaintext', { timeout: 120_000 }, async (t) => {
  const names = listCaptures();
  assert.ok(names.length >= 7, `captures present: ${names.join(', ')}`);
  const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  const runs = await inPairs(names, (n) => replay(capturePath(n)));
  for (const [i, name] of names.entries()) {
    await t.test(name, () => {
      const r = runs[i]!;
      const exp = readExpected(name);
      assert.ok(statSync(capturePath(name)).size < 1024 * 1024, 'capture stays small');
      assert.equal(r.status, 0, `replay exit: ${r.stderr.slice(-1500)}`);
      for (const e of r.events) {
        const type = e.type.replace('dev.agentrail.', '');
        if (!validators.has(type)) validators.set(type, ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', `${type}.json`), 'utf8'))));
        const v = validators.get(type)!;
        assert.ok(v(e), `${e.type}: ${ajv.errorsText(v.errors)}`);
      }
      const s = summarize(r.events);
      assert.deepEqual(s.models, exp.summary.models, 'model invocations as recorded');
      assert.deepEqual(s.tools, exp.summary.tools, 'tool invocations as recorded');
      assert.deepEqual(s.data, exp.summary.data, 'data accesses of the fixture file as recorded');
      // Independent truth: what the SDK itself returned when the capture was recorded.
      for (const a of exp.agents as Array<{ name: string; pid: number; model: string | null; toolRequested: string | null; mcpTool: string | null; finalOutputHash: string | null; finalOutputWords: number | null; toolReturnHash: string | null }>) {
        const mine = ofPid(s, a.pid);
        if (a.model) {
          assert.ok(mine.models.length >= 1, `${a.name}: model invocations`);
          for (const m of mine.models) {
            assert.equal(m.model_id, a.model, `${a.name}: model id`);
            assert.ok(m.prompt_token_count > 0, `${a.name}: prompt tokens`);
          }
          const last = mine.models.find((m) => m.output_hash === a.finalOutputHash);
          assert.ok(last, `${a.name}: a model invocation's output_hash is the SHA-256 of the text the SDK returned`);
          assert.equal(last.output_token_count, a.finalOutputWords, `${a.name}: output tokens from the API usage`);
        }
        if (a.toolRequested) {
          assert.ok(mine.models.some((m) => m.tools_requested.includes(a.toolRequested!)), `${a.name}: tools_requested holds ${a.toolRequested}`);
          const tool = mine.tools.find((x) => x.tool_name === a.toolRequested);
          assert.ok(tool?.triggered_by_model, `${a.name}: tool invocation triggered by the model invocation`);
          assert.deepEqual(Object.keys((tool.param_schema as { properties: object }).properties).sort(), ['max_bytes', 'path']);
          assert.ok(mine.data.some((d) => d.triggered_by_tool && d.byte_count === 720), `${a.name}: data access of the report (720 bytes) triggered by the tool`);
        }
        if (a.mcpTool) {
          const tools = s.tools.filter((x) => x.tool_name === a.mcpTool && x.return_hash === a.toolReturnHash);
          assert.ok(tools.length >= 1, `${a.name}: MCP tools/call with return_hash = SHA-256 of what the client received`);
        }
      }
      assertNoPlaintext(r, [], name);
    });
  }
});

test('damaged recorded captures: no crash, counted errors, error events, no plaintext of the damaged bodies, the rest decoded', { timeout: 120_000 }, async (t) => {
  const base = 'node-openai';
  const exp = readExpected(base);
  const evs = readEvents(capturePath(base));
  const [a, b] = exp.agents as Array<{ pid: number; finalOutputHash: string }>;
  const intactB = ofPid(exp.summary, b!.pid);
  const tag = randomBytes(6).toString('hex');
  const marker = `DAMAGEDBODY${tag}`;

  const first = findResponse(evs, a!.pid, 0); // the tool-call answer
  const second = findResponse(evs, a!.pid, 1); // the final answer
  const http = (body: Buffer, headers: string) => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${headers}content-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`), body]);

  const finalBytes = responseBytes(evs, second);
  const badUtf8 = Buffer.from(finalBytes);
  const at = badUtf8.indexOf('report shows');
  assert.ok(at > 0, 'the final answer holds the text');
  badUtf8.set([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0], at); // invalid UTF-8, same length

  const bomb = gzipSync(Buffer.from(`{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"${marker} ${'A'.repeat(64 * 1024 * 1024)}"}}]}`), { level: 1 });
  const huge = Buffer.from(`{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"${(marker + ' ').repeat(Math.ceil((20 * 1024 * 1024) / (marker.length + 1)))}"}}]}`);
  const garbage = randomBytes(300);

  const intactA = ofPid(exp.summary, a!.pid);
  const cutAnswerMarked = (r: Replay, pid: number) =>
    r.events.some((e) => e.type === 'dev.agentrail.model.invocation' && (e.data as { process?: { pid?: number } }).process?.pid === pid && (e.data as { output_complete?: boolean }).output_complete === false);
  const variants: Array<{ name: string; events: RawEvent[]; check: (r: Replay, s: CaptureSummary, more: string[]) => void }> = [
    {
      name: 'clean (re-encoded, undamaged): the reference for the counters',
      events: evs,
      check: (_r, s, more) => {
        assert.deepEqual(ofPid(s, a!.pid), intactA, 're-encoding changes nothing');
        assert.deepEqual(more, []);
        assert.deepEqual(s.errors, exp.summary.errors);
      },
    },
    {
      name: 'truncated stream (the tail of a response and everything after it on the connection dropped)',
      events: truncateStream(evs, first, 60),
      check: (_r, s, more) => {
        assert.ok(more.length > 0, 'the missing bytes are counted');
        assert.ok(s.errors.some((e) => e.pid === a!.pid && e.kind.startsWith('stream_incomplete')), `an error event for the agent whose answer was cut: ${JSON.stringify(s.errors)}`);
      },
    },
    {
      name: 'garbage bytes injected into a TLS payload',
      events: spliceResponse(evs, first, Buffer.concat([garbage, responseBytes(evs, first)])),
      check: (_r, s, more) => {
        assert.ok(more.some((k) => k.startsWith('errors:protocol.')), `garbage counted: ${more.join(', ')}`);
        assert.deepEqual(ofPid(s, a!.pid), intactA, 'the parser resynchronizes on the real response behind the garbage');
      },
    },
    {
      name: 'compression bomb (gzip, 64 MiB of text in ~64 KiB) spliced into a response',
      events: spliceResponse(evs, first, http(bomb, 'content-encoding: gzip\r\n')),
      check: (r, _s, more) => {
        assert.ok(more.includes('drops:protocol.decompression_cap'), `bounded decompression counted: ${more.join(', ')}`);
        assert.ok(cutAnswerMarked(r, a!.pid), 'the cut answer is a model invocation marked output_complete: false');
      },
    },
    {
      name: 'huge body (20 MiB) spliced into a response',
      events: spliceResponse(evs, first, http(huge, '')),
      check: (r, _s, more) => {
        assert.ok(more.includes('drops:protocol.body_cap'), `cut body counted: ${more.join(', ')}`);
        assert.ok(cutAnswerMarked(r, a!.pid), 'the cut answer is a model invocation marked output_complete: false');
      },
    },
    {
      name: 'invalid UTF-8 in a JSON body',
      events: spliceResponse(evs, second, badUtf8),
      check: (_r, s) => {
        const models = ofPid(s, a!.pid).models;
        assert.equal(models.length, ofPid(exp.summary, a!.pid).models.length, 'the answer is still a model invocation');
        assert.ok(!models.some((m) => m.output_hash === a!.finalOutputHash), 'its output hash is that of the bytes received, not of the original text');
      },
    },
  ];

  const files = variants.map((v, i) => {
    const f = join(work, `damaged-${i}.arcap`);
    writeCapture(f, v.events);
    return f;
  });
  const runs = await inPairs(files, replay);
  for (const [i, v] of variants.entries()) {
    await t.test(v.name, (st) => {
      const r = runs[i]!;
      st.diagnostic(`stage errors ${JSON.stringify(r.stageErrors)} drops ${JSON.stringify(r.drops)} error events ${JSON.stringify(summarize(r.events).errors)}`);
      assert.equal(r.status, 0, `no crash: ${r.stderr.slice(-1500)}`);
      assert.ok(!/"level":(50|60)/.test(r.stderr), `no error-level log line: ${r.stderr.split('\n').filter((l) => /"level":(50|60)/.test(l)).join('\n').slice(0, 1500)}`);
      const s = summarize(r.events);
      v.check(r, s, grown(r, runs[0]!));
      // The other agent of the capture is untouched by the damage.
      assert.deepEqual(ofPid(s, b!.pid), intactB, 'the rest of the capture still decodes');
      assertNoPlaintext(r, [marker, 'report shows steady growth'], v.name);
    });
  }
});

test('interleaved connections: two recorded captures merged (pids remapped) decode to both trails', { timeout: 60_000 }, async () => {
  const x = readExpected('node-openai');
  const y = readExpected('py-openai');
  const delta = 1_000_000;
  const f = join(work, 'interleaved.arcap');
  writeCapture(f, interleave(readEvents(capturePath('node-openai')), readEvents(capturePath('py-openai')), delta), 16);
  const r = await replay(f);
  assert.equal(r.status, 0, r.stderr.slice(-1500));
  const s = summarize(r.events);
  const moved = (l: Array<{ pid: number }>) => l.map((m) => ({ ...m, pid: m.pid + delta }));
  const byJson = (l: unknown[]) => l.map((v) => JSON.stringify(v)).sort();
  assert.deepEqual(byJson(s.models), byJson([...x.summary.models, ...moved(y.summary.models)]));
  assert.deepEqual(byJson(s.tools), byJson([...x.summary.tools, ...moved(y.summary.tools)]));
  assert.deepEqual(byJson(s.data), byJson([...x.summary.data, ...moved(y.summary.data)]));
  assertNoPlaintext(r, [], 'interleaved');
});

test('events split across reads and many events in one read: TLS records re-chunked at every size decode the same', { timeout: 90_000 }, () => {
  const sizes = [...Array.from({ length: 16 }, (_, i) => i + 1), 31, 64, 127, 500, 1024, 4095];
  let mergedAway = 0;
  // HTTP/1.1 JSON and SSE (a whole SSE stream already arrives in one read here), HTTP/2, MCP over HTTP.
  for (const name of ['node-openai', 'py-openai', 'curl-gemini-h2', 'node-mcp']) {
    const evs = readEvents(capturePath(name));
    const baseline = summarize(runStages(evs).events);
    assert.deepEqual(baseline.models, readExpected(name).summary.models, `${name}: in-process stages agree with the CLI replay`);
    for (const size of sizes) {
      assert.deepEqual(summarize(runStages(splitCalls(evs, size)).events), baseline, `${name}: every call split into reads of ${size} bytes`);
    }
    for (const size of [1, 5, 100, 4095]) {
      assert.deepEqual(summarize(runStages(splitChunks(evs, size)).events), baseline, `${name}: every call delivered in chunks of ${size} bytes`);
    }
    const merged = mergeCalls(evs);
    mergedAway += evs.length - merged.length;
    assert.deepEqual(summarize(runStages(merged).events), baseline, `${name}: consecutive reads merged into one`);
  }
  assert.ok(mergedAway > 0, 'some consecutive reads were merged');
});
