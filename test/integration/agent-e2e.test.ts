/**
 * End to end, real parts only: the real sensor (native collector, eBPF) traces
 * agents written on the real SDKs — npm openai, @anthropic-ai/sdk,
 * @modelcontextprotocol/sdk; PyPI openai, anthropic, mcp; curl over HTTP/2 —
 * talking to a local HTTPS mock with a throwaway CA. The trail alone must
 * answer the five questions, carry no canary, and validate against the schemas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { cliEntry, distRoot, repoRoot } from '../../src/paths.js';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { makeTestCa, removeTestCa } from '../helpers/tls-server.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import kafkajs from 'kafkajs';
import { readTopic } from '../../src/sink/kafka-reader.js';
import { waitForAsync } from '../helpers/wait-for.js';

const addFormats = addFormatsImport as unknown as (a: Ajv2020) => void;
type Ev = { id: string; type: string; source: string; data: Record<string, any> };


/** A valid-Luhn card number that is unique to this run. */
function canaryCard(): string {
  const digits = ('4' + [...randomBytes(14)].map((b) => String(b % 10)).join('')).split('').map(Number);
  for (let check = 0; check < 10; check++) {
    const all = [...digits, check];
    let sum = 0;
    for (let i = 0; i < all.length; i++) {
      let d = all[all.length - 1 - i]!;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    if (sum % 10 === 0) return all.join('');
  }
  throw new Error('unreachable');
}

function waitFor<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = fn();
      if (v !== undefined) return resolve(v);
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

function readLog(dir: string): Ev[] {
  const seg = join(dir, 'segments');
  const out: Ev[] = [];
  for (const f of readdirSync(seg).sort()) {
    for (const line of readFileSync(join(seg, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Ev);
  }
  return out;
}

function allText(dir: string): string {
  let s = '';
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (!p.includes('/keys/')) s += readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return s;
}

test('real SDK agents under the real sensor: five questions answered, no canary leaks, schemas hold', { timeout: 300_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const python = join(repoRoot, '.venv', 'bin', 'python');
  if (!requireTool(t, existsSync(python), 'the Python SDK venv (.ci/setup.d/20-python.sh)')) return;
  if (!requireTool(t, spawnSync('curl', ['--version']).status === 0, 'curl')) return;
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;

  const work = mkdtempSync(join(tmpdir(), 'agentrail-e2e-'));
  const sha = (s: string) => expectedContentHash(s, join(work, 'keys')); // seal.keyDir of the config below
  const ca = makeTestCa(['localhost']);
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });

  // Canaries: unique per run, planted in prompts, tool arguments, a file and the environment.
  const tag = randomBytes(6).toString('hex');
  const canary = {
    email: `canary.${tag}@example.com`,
    apiKey: `sk-proj-${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`,
    card: canaryCard(),
    phrase: `CANARYPHRASE${tag.toUpperCase()}`,
    envSecret: `ghp_${randomBytes(18).toString('hex').slice(0, 36)}`,
    toolArg: `CANARYARG${tag}`,
  };
  const dataFile = join(work, 'quarterly-report.txt');
  const fileText = `Quarterly numbers for ${canary.email}: card ${canary.card}; ${canary.phrase}\n`.repeat(20);
  writeFileSync(dataFile, fileText);
  const prompt = `Summarize the report for ${canary.email}. My key is ${canary.apiKey}. ${canary.phrase}`;

  // The mock LLM/MCP server, in its own (untraced) process.
  const script = { toolCall: { name: 'read_file', arguments: { path: dataFile, max_bytes: 65536, note: canary.toolArg } }, finalText: 'The report shows steady growth.' };
  const mock = spawn(process.execPath, [join(distRoot, 'test', 'helpers', 'llm-mock-server.js'), '--cert', ca.certPath, '--key', ca.keyPath, '--script', JSON.stringify(script)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(mock);
  let mockOut = '';
  mock.stdout!.on('data', (d: Buffer) => (mockOut += d.toString()));
  const port = await waitFor('mock server', () => (mockOut.includes('\n') ? (JSON.parse(mockOut.split('\n')[0]!) as { port: number }).port : undefined), 15_000);

  // The agents run under one launcher that stops itself until the sensor traces it.
  const resultFile = join(work, 'results.json');
  const launcher = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'sh', process.execPath, join(repoRoot, 'test', 'integration', 'agents', 'run-all.mjs')], {
    env: { ...process.env, MOCK_URL: `https://localhost:${port}`, PYTHON: python, CA_FILE: ca.caPath, PROMPT: prompt, RESULT_FILE: resultFile, CANARY_EMAIL: canary.email, AGENTRAIL_CANARY_ENV: canary.envSecret, OPENAI_API_KEY: canary.apiKey },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(launcher);
  await waitFor('launcher stopped', () => (/\) T /.test(readFileSync(`/proc/${launcher.pid}/stat`, 'utf8')) ? true : undefined), 10_000);

  // The sensor, on the embedded default (local signed log), health server on a free port.
  const logDir = join(work, 'log');
  const cfgFile = join(work, 'agentrail.yaml');
  // Kafka: the sensor ships in binary mode; topics made by `agentrail kafka init`, never auto-created.
  const topic = `agentrail-e2e-${tag}`;
  const cli = (args: string[]) => spawnSync(process.execPath, [cliEntry, ...args], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  for (const [tp, ctp] of [[topic, `${topic}-cp`], [`${topic}-structured`, `${topic}-structured-cp`]] as const) {
    const init = cli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', tp, '--checkpoint-topic', ctp, '--partitions', '3', '--preset', 'pci']);
    assert.equal(init.status, 0, init.stderr);
  }
  // pipeline.workers: 2 — this end-to-end run goes through the sharded pipeline (sessions split over two
  // worker threads, sealed by the main thread, metrics merged) and ships from the Kafka shipper thread
  // (thread: true; `auto` would keep it on the main thread with two workers on two cores); the other
  // live tests run in-process.
  writeFileSync(cfgFile, [
    'pipeline:', '  workers: 2',
    'observability:', '  httpPort: 0',
    'seal:', `  keyDir: ${join(work, 'keys')}`, '  checkpoint:', '    events: 50',
    'sink:', '  kafka:', '    enabled: true', `    brokers: [${JSON.stringify(brokers[0])}]`, `    topic: ${topic}`, `    checkpointTopic: ${topic}-cp`, '    thread: true', '',
  ].join('\n'));
  const sensor = spawn(process.execPath, [cliEntry, 'run', '--pid', String(launcher.pid), '--log-dir', logDir, '--config', cfgFile], {
    env: { ...process.env, AGENTRAIL_ROOT: repoRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(sensor);
  let sensorErr = '';
  let sensorOut = '';
  sensor.stderr!.on('data', (d: Buffer) => (sensorErr += d.toString()));
  sensor.stdout!.on('data', (d: Buffer) => (sensorOut += d.toString()));
  const healthPort = await waitFor('sensor ready', () => {
    if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${sensorErr.slice(-2000)}`);
    const m = /"healthPort":(\d+)[^\n]*pipeline running/.exec(sensorErr);
    return m ? Number(m[1]) : undefined;
  }, 60_000);

  process.kill(launcher.pid!, 'SIGCONT');
  const launcherExit = await new Promise<number | null>((resolve) => launcher.on('exit', (c) => resolve(c)));
  assert.equal(launcherExit, 0, 'the agents ran');
  const results = JSON.parse(readFileSync(resultFile, 'utf8')) as Array<{ name: string; status: number; pid: number; outputs?: string[]; toolText?: string; tools?: string[]; error?: string; stderr?: string }>;
  for (const r of results) assert.equal(r.status, 0, `${r.name} failed: ${r.error ?? ''} ${r.stderr ?? ''}`);

  await new Promise((r) => setTimeout(r, 1500)); // let fd closes and exits drain
  const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  // The shipper thread's counters reach /metrics through the merge (its metrics arrive once a second).
  const shippedLive = await waitForAsync('shipped events in /metrics', async () => {
    const m = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    const v = Number(/^agentrail_kafka_shipped_total ([0-9.e+]+)/m.exec(m)?.[1] ?? 0);
    return v > 0 ? v : undefined;
  }, 15_000);
  const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
  assert.equal(ready.status, 200, 'readyz answers ready while running');
  sensor.kill('SIGTERM');
  const sensorExit = await new Promise<number | null>((resolve) => sensor.on('exit', (c) => resolve(c)));
  assert.equal(sensorExit, 0, `sensor exit: ${sensorErr.slice(-1500)}`);

  const events = readLog(logDir);
  const ofType = (type: string, pid?: number) => events.filter((e) => e.type === `dev.agentrail.${type}` && (pid === undefined || e.data.process?.pid === pid));

  await t.test('metrics of a live run: ring fill, checkpoint age, local log size, events by type', () => {
    assert.match(metrics, /agentrail_ringbuf_fill_ratio\{ring="events"\} [0-9.e-]+/);
    const age = Number(/agentrail_last_checkpoint_age_seconds ([-0-9.e]+)/.exec(metrics)?.[1]);
    assert.ok(age >= 0, `a checkpoint was signed (age ${age})`);
    assert.ok(Number(/agentrail_local_log_bytes ([0-9.e+]+)/.exec(metrics)?.[1]) > 0, 'local log bytes');
    assert.match(metrics, /agentrail_events_total\{type="dev.agentrail.model.invocation"\} [1-9]/);
    // Records are decoded in the shard workers: their counters reach /metrics through the merge, once.
    assert.match(metrics, /agentrail_raw_records_total\{op="tls.data"\} [1-9]/);
    assert.equal(metrics.match(/^agentrail_process_process_resident_memory_bytes /gm)?.length, 1, 'process metrics once, from the main thread');
  });

  await t.test('every event validates against its JSON Schema', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });
    addFormats(ajv);
    const cache = new Map<string, ReturnType<typeof ajv.compile>>();
    for (const e of events) {
      const name = e.type.replace('dev.agentrail.', '');
      if (!cache.has(name)) cache.set(name, ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', `${name}.json`), 'utf8'))));
      const v = cache.get(name)!;
      assert.ok(v(e), `${e.type} ${e.id}: ${ajv.errorsText(v.errors)}`);
    }
  });

  await t.test('the log verifies offline with the public key', () => {
    const r = spawnSync(process.execPath, [cliEntry, 'verify', logDir, '--keys', join(work, 'keys', 'agentrail.pub'), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  for (const [name, model, toolCall] of [
    ['node-openai', 'gpt-4o-mini', true],
    ['node-openai-stream', 'gpt-4.1-nano', true],
    ['node-anthropic', 'claude-haiku-4-5', true],
    ['py-openai', 'gpt-4o', true],
    ['py-anthropic', 'claude-sonnet-4-6', false],
    ['curl-gemini-h2', 'gemini-2.0-flash', false],
  ] as const) {
    await t.test(`${name}: model invocations, token counts, output hash, tools requested, causal links`, () => {
      const r = results.find((x) => x.name === name)!;
      const pid = r.pid;
      const models = ofType('model.invocation', pid);
      assert.ok(models.length >= 1, `model invocations of ${name}: ${models.length}`);
      for (const m of models) {
        assert.equal(m.data.model_id, model);
        assert.ok(m.data.prompt_token_count > 0, 'prompt tokens');
        assert.ok(typeof m.data.prompt_class === 'string' && m.data.prompt_class.length > 0);
        assert.ok(m.data.trace_id && m.data.agent_session_id && m.data.workload_id);
      }
      // Q4: the hash of what the SDK returned is in the trail.
      const finalText = r.outputs![r.outputs!.length - 1]!;
      const last = models.find((m) => m.data.output_hash === sha(finalText));
      assert.ok(last, `${name}: no model invocation with output_hash = sha256 of the SDK's text (${models.map((m) => m.data.output_hash).join(', ')})`);
      assert.equal(last.data.output_complete, true);
      // Usage from the API: the mock counts output tokens as words.
      assert.equal(last.data.output_token_count, finalText.match(/\S+\s*/g)!.length);
      assert.ok(last.data.input_sensitivity.includes('PII:email'), `input tags ${last.data.input_sensitivity}`);
      if (toolCall) {
        // Q1/Q2: the model asked for read_file; the tool ran with this parameter shape; it read the file.
        const asked = models.find((m) => (m.data.tools_requested as Array<{ name: string }>).some((x) => x.name === 'read_file'));
        assert.ok(asked, 'tools_requested holds read_file');
        const tools = ofType('tool.invocation', pid).filter((x) => x.data.tool_name === 'read_file');
        assert.ok(tools.length >= 1, 'tool invocation of read_file');
        const tool = tools[0]!;
        assert.equal(tool.data.triggering_event_id, asked.data.event_id, 'tool invocation → model invocation');
        assert.equal(tool.data.param_schema.type, 'object');
        assert.equal(tool.data.param_schema.properties.path.type, 'string');
        assert.equal(tool.data.param_schema.properties.note.type, 'string');
        // Q3: which data, how many bytes, triggered by the tool.
        const reads = ofType('data.access', pid).filter((x) => x.data.resource_uri === `file://${dataFile}`);
        assert.ok(reads.length >= 1, 'data access of the report file');
        assert.equal(reads[0]!.data.byte_count, Buffer.byteLength(fileText));
        assert.equal(reads[0]!.data.triggering_event_id, tool.data.event_id, 'data access → tool invocation');
      }
    });
  }

  for (const name of ['node-mcp-http', 'node-mcp-stdio', 'py-mcp-stdio'] as const) {
    await t.test(`${name}: MCP tools/call as a tool invocation with server identity and parameter shape`, () => {
      const r = results.find((x) => x.name === name)!;
      assert.deepEqual(r.tools, ['lookup_customer']);
      const tools = events.filter((e) => e.type === 'dev.agentrail.tool.invocation' && e.data.tool_name === 'lookup_customer' && (e.data.process?.pid === r.pid || e.data.mcp_client_pid === r.pid || e.data.process?.ppid === r.pid));
      assert.ok(tools.length >= 1, `tool invocation for ${name}`);
      const tool = tools[0]!;
      assert.equal(tool.data.param_schema.properties.email.type, 'string');
      assert.ok(tool.data.param_sensitivity.includes('PII:email'));
      assert.equal(tool.data.return_hash, sha(r.toolText!), 'return_hash = sha256 of the text the MCP client received');
      assert.ok(tool.data.return_size > 0);
    });
  }

  await t.test('Kafka: the workload\'s events arrive exactly once, in chain order, with CloudEvents headers; the topic verifies (binary and structured modes)', async () => {
    const localIds = events.map((e) => e.id);
    // The sensor shipped binary mode; ship the same log again in structured mode with its own cursor.
    const ship = cli(['kafka', 'ship', '--log', logDir, '--brokers', brokers.join(','), '--topic', `${topic}-structured`, '--checkpoint-topic', `${topic}-structured-cp`, '--mode', 'structured', '--cursor', 'structured', '--until-shipped']);
    assert.equal(ship.status, 0, ship.stderr);
    for (const tp of [topic, `${topic}-structured`]) {
      const got: string[] = [];
      let lastSeq = 0;
      for await (const ev of readTopic({ brokers, topic: tp, timeoutMs: 30_000 })) {
        got.push(ev.id);
        const seq = Number(ev.sequence);
        assert.ok(seq > lastSeq, 'chain order');
        lastSeq = seq;
      }
      assert.deepEqual(got, localIds, `${tp}: every sealed event exactly once, in order`);
      if (tp === topic) assert.ok(shippedLive <= got.length, `the shipper thread's live count (${shippedLive}) is at most what the topic holds (${got.length})`);
      const v = cli(['verify', `kafka://${brokers[0]}/${tp}`, '--keys', join(work, 'keys', 'agentrail.pub')]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
    // Raw records: binary mode carries ce_* headers and the partition key as record key.
    const kafka = new kafkajs.Kafka({ clientId: 'e2e-check', brokers, logLevel: kafkajs.logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `e2e-${tag}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: Array<{ key: string | undefined; headers: Record<string, string> }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out reading raw records')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) h[k] = String(v);
          seen.push({ key: message.key?.toString(), headers: h });
          if (seen.length >= events.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    const byId = new Map(events.map((e) => [e.id, e as Ev & { partitionkey?: string; sequence?: string }]));
    for (const r of seen) {
      assert.equal(r.headers.ce_specversion, '1.0');
      assert.equal(r.headers['content-type'], 'application/json');
      const ev = byId.get(r.headers.ce_id!);
      assert.ok(ev, 'ce_id names a sealed event');
      assert.equal(r.headers.ce_type, ev.type);
      assert.equal(r.headers.ce_sequence, ev.sequence);
      if (ev.partitionkey) assert.equal(r.key, ev.partitionkey, 'record key = partitionkey');
    }
  });

  await t.test('Q5: identity assertions name the process identity and the API key only by hash', () => {
    const ids = ofType('identity.assertion');
    assert.ok(ids.length > 0);
    const withKey = ids.filter((e) => e.data.key_id_hash);
    assert.ok(withKey.length > 0, 'an API key was reduced to a key hash');
    assert.ok(withKey.every((e) => /^hmac-sha256:[0-9a-f]{64}$/.test(e.data.key_id_hash)), 'key id hashes are keyed hashes (not confirmable by guessing)');
    assert.ok(ids.every((e) => typeof e.data.service_account === 'string' && e.data.workload_id));
  });

  await t.test('no canary reaches the log, the sensor logs, stdout or the metrics', () => {
    const haystacks = { log: allText(logDir), stderr: sensorErr, stdout: sensorOut, metrics };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, value] of Object.entries(canary)) {
        assert.ok(!text.includes(value), `canary ${what} found in ${where}`);
      }
      assert.ok(!text.includes(canary.card.replace(/(\d{4})/g, '$1 ').trim()), `spaced card in ${where}`);
    }
    // …while the tags for them are there.
    const tags = new Set(events.flatMap((e) => [...(e.data.input_sensitivity ?? []), ...(e.data.param_sensitivity ?? []), ...(e.data.return_sensitivity ?? []), ...(e.data.sensitivity_tags_resolved ?? [])]));
    for (const t of ['PII:email', 'PCI:pan', 'secret:api_key']) assert.ok(tags.has(t), `tag ${t} present (${[...tags].join(', ')})`);
  });
});
