import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { requireTool } from '../helpers/privileges.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import { runCli } from '../helpers/cli.js';
import { tmpDir } from '../sink/sealed.js';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

function configFile(kafka: Record<string, unknown>): string {
  const f = join(tmpDir('agentrail-cfg-'), 'config.json');
  writeFileSync(f, JSON.stringify({ sink: { kafka } }));
  return f;
}

/** Exactly one line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
}

test('bad Kafka configuration: unknown key → one-line CONFIG error (exit 2)', () => {
  const r = runCli(['kafka', 'init', '--config', configFile({ brokers: ['127.0.0.1:9092'], brokerz: ['x'] })]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /CONFIG_INVALID: invalid configuration at sink\.kafka: unknown key\(s\) brokerz/);
});

test('bad Kafka configuration: unreachable broker → one-line UNAVAILABLE error (exit 69)', async () => {
  const port = await freePort();
  const r = runCli(['kafka', 'init', '--brokers', `127.0.0.1:${port}`]);
  assert.equal(r.status, 69, r.stderr);
  assert.match(oneLine(r.stderr), new RegExp(`UNAVAILABLE_KAFKA: Kafka broker 127\\.0\\.0\\.1:${port} connection refused`));
});

test('bad Kafka configuration: unreadable or non-PEM TLS file → one-line CONFIG error (exit 2)', () => {
  const missing = runCli(['kafka', 'init', '--config', configFile({ brokers: ['127.0.0.1:9093'], tls: { caFile: '/nonexistent/ca.pem' } })]);
  assert.equal(missing.status, 2);
  assert.match(oneLine(missing.stderr), /CONFIG_KAFKA_TLS: cannot read sink\.kafka\.tls\.caFile \/nonexistent\/ca\.pem: ENOENT/);
  const junk = join(tmpDir(), 'junk.pem');
  writeFileSync(junk, 'not a certificate');
  const bad = runCli(['kafka', 'init', '--config', configFile({ brokers: ['127.0.0.1:9093'], tls: { caFile: junk } })]);
  assert.equal(bad.status, 2);
  assert.match(oneLine(bad.stderr), /CONFIG_KAFKA_TLS: .* is not a PEM file/);
});

test('SASL against a real SASL_PLAINTEXT listener: right password works (PLAIN, SCRAM-SHA-256/512), wrong one is a one-line error', async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const st = brokerState()!;
  if (!requireTool(t, !!st.saslBrokers?.length && !!st.sasl?.length, 'the SASL listener of the broker started by scripts/kafka.mjs')) return;
  const { username, password } = st.sasl![0]!;
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
    const ok = runCli(['kafka', 'init', '--preset', 'dev', '--topic', `sasl.${mechanism}`, '--checkpoint-topic', `sasl.${mechanism}.cp`, '--config', configFile({ brokers: st.saslBrokers, sasl: { mechanism, username, password } })]);
    assert.equal(ok.status, 0, `${mechanism}: ${ok.stderr}`);
    assert.match(ok.stdout, /retention 7 days/);
    const bad = runCli(['kafka', 'init', '--config', configFile({ brokers: st.saslBrokers, sasl: { mechanism, username, password: 'wrong-password' } })]);
    assert.equal(bad.status, 69, `${mechanism}: ${bad.stderr}`);
    const line = oneLine(bad.stderr);
    assert.match(line, /UNAVAILABLE_KAFKA_AUTH: SASL authentication failed/);
    assert.doesNotMatch(line, /wrong-password/, 'the password never appears in the error');
  }
});
