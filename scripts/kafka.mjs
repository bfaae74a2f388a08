#!/usr/bin/env node
// A real Apache Kafka broker for development and tests, obtained from Maven Central.
//
//   node scripts/kafka.mjs fetch    resolve the org.apache.kafka jars into .cache/kafka/libs (mvn)
//   node scripts/kafka.mjs start    fetch if needed, format KRaft storage, start one broker+controller
//                                   on 127.0.0.1 (free ports), wait until ready, write .cache/kafka/state.json
//   node scripts/kafka.mjs stop     stop the broker by its pid (SIGTERM, then SIGKILL)
//   node scripts/kafka.mjs status   print the state and whether the broker answers
//   node scripts/kafka.mjs kill     SIGKILL the broker (fault injection), keep its data and ports
//   node scripts/kafka.mjs restart  start again on the same ports and data (after kill)
//
// Listeners: PLAINTEXT (state.brokers) and SASL_PLAINTEXT with PLAIN and SCRAM-SHA-256/512
// (state.saslBrokers; users in state.sasl). Env: AGENTRAIL_KAFKA_VERSION (default 3.9.1),
// AGENTRAIL_KAFKA_CACHE (state, data, log; default <repo>/.cache/kafka), AGENTRAIL_KAFKA_LIBS (jars;
// default <repo>/.cache/kafka/libs-<version>), AGENTRAIL_KAFKA_PORT (fixed PLAINTEXT port),
// AGENTRAIL_KAFKA_HEAP (default 512m).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, freePort, readJson, serviceCli } from './service-util.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = process.env.AGENTRAIL_KAFKA_VERSION || '3.9.1';
const cache = resolve(process.env.AGENTRAIL_KAFKA_CACHE || join(root, '.cache', 'kafka'));
// Jars are shared by every instance (tests start extra brokers with their own AGENTRAIL_KAFKA_CACHE).
const libs = resolve(process.env.AGENTRAIL_KAFKA_LIBS || join(root, '.cache', 'kafka', `libs-${VERSION}`));
const stateFile = join(cache, 'state.json');
const dataDir = join(cache, 'data');
const SASL_USERS = { agentrail: 'agentrail-secret' };

function log(msg) {
  process.stderr.write(`kafka: ${msg}\n`);
}

function fetchJars() {
  if (existsSync(join(libs, `kafka_2.13-${VERSION}.jar`))) return;
  mkdirSync(cache, { recursive: true });
  const pomDir = join(cache, 'pom');
  mkdirSync(pomDir, { recursive: true });
  writeFileSync(
    join(pomDir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.agentrail</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`,
  );
  const t0 = Date.now();
  log(`resolving org.apache.kafka:kafka_2.13:${VERSION} from Maven Central into ${libs}`);
  const r = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(pomDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed (exit ${r.status}); is Maven installed and Maven Central reachable?`);
  log(`fetched ${readdirSync(libs).length} jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function tcpOpen(port) {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
    s.setTimeout(1000, () => {
      s.destroy();
      res(false);
    });
  });
}

async function brokerAnswers(brokers, timeoutMs = 5000) {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'agentrail-kafka-script', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: timeoutMs, requestTimeout: timeoutMs });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    // Creating a topic needs the controller and metadata to be ready, not just the socket.
    await admin.createTopics({ topics: [{ topic: '__agentrail_ready', numPartitions: 1 }], waitForLeaders: true, timeout: timeoutMs });
    return c.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function serverProperties(st) {
  const jaasPlain = `org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(SASL_USERS)
    .map(([u, p]) => `user_${u}="${p}"`)
    .join(' ')};`;
  const jaasScram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${st.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${st.port},CONTROLLER://127.0.0.1:${st.controllerPort},SASL_PLAINTEXT://127.0.0.1:${st.saslPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${st.port},SASL_PLAINTEXT://127.0.0.1:${st.saslPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=${jaasPlain}`,
    `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${jaasScram}`,
    `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${jaasScram}`,
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'num.network.threads=2',
    'num.io.threads=4',
    'log.segment.bytes=67108864',
    '',
  ].join('\n');
}

function java(args, opts = {}) {
  const heap = process.env.AGENTRAIL_KAFKA_HEAP || '512m';
  return ['-Xms128m', `-Xmx${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${join(cache, 'log4j.properties')}`, '-cp', `${libs}/*`, ...args];
}

function format(st) {
  const props = join(cache, 'server.properties');
  // A cluster id is 16 random bytes, base64url; one starting with '-' would be read as an option.
  let clusterId;
  do clusterId = randomBytes(16).toString('base64url');
  while (!/^[A-Za-z0-9]/.test(clusterId));
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const scram = Object.entries(SASL_USERS).flatMap(([u, p]) => [
    '--add-scram',
    `SCRAM-SHA-256=[name=${u},password=${p}]`,
    '--add-scram',
    `SCRAM-SHA-512=[name=${u},password=${p}]`,
  ]);
  const r = spawnSync('java', java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scram]), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kafka StorageTool format failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  st.clusterId = clusterId;
}

function launch(st) {
  const out = openSync(join(cache, 'broker.log'), 'a');
  const child = spawn('java', java(['kafka.Kafka', join(cache, 'server.properties')]), { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  st.pid = child.pid;
  st.startedAt = new Date().toISOString();
}

async function waitReady(st, timeoutMs = 90_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!alive(st.pid)) throw new Error(`broker exited during startup; see ${join(cache, 'broker.log')}`);
    if ((await tcpOpen(st.port)) && (await brokerAnswers(st.brokers))) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`broker not ready after ${timeoutMs} ms; see ${join(cache, 'broker.log')}`);
}

async function start({ keepPorts = false } = {}) {
  const prev = readState();
  if (prev && alive(prev.pid) && (await brokerAnswers(prev.brokers))) {
    log(`already running: pid ${prev.pid}, brokers ${prev.brokers.join(',')}`);
    return prev;
  }
  fetchJars();
  mkdirSync(cache, { recursive: true });
  mkdirSync(libs, { recursive: true });
  writeFileSync(
    join(cache, 'log4j.properties'),
    'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka.server.KafkaServer=INFO\nlog4j.logger.kafka.server.BrokerServer=INFO\n',
  );
  const st =
    keepPorts && prev
      ? { ...prev }
      : { version: VERSION, port: Number(process.env.AGENTRAIL_KAFKA_PORT) || (await freePort()), controllerPort: await freePort(), saslPort: await freePort() };
  st.brokers = [`127.0.0.1:${st.port}`];
  st.saslBrokers = [`127.0.0.1:${st.saslPort}`];
  st.sasl = Object.entries(SASL_USERS).map(([username, password]) => ({ username, password }));
  st.logFile = join(cache, 'broker.log');
  writeFileSync(join(cache, 'server.properties'), serverProperties(st));
  if (!(keepPorts && prev && existsSync(join(dataDir, 'meta.properties')))) format(st);
  launch(st);
  writeFileSync(stateFile, JSON.stringify(st, null, 2) + '\n');
  const ms = await waitReady(st);
  log(`ready in ${(ms / 1000).toFixed(1)} s: pid ${st.pid}, brokers ${st.brokers.join(',')}, sasl ${st.saslBrokers.join(',')}`);
  return st;
}

const readState = () => readJson(stateFile);

await serviceCli('kafka', { fetch: fetchJars, start, stateFile, answers: (s) => brokerAnswers(s.brokers), log });
