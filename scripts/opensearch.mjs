#!/usr/bin/env node
// A real OpenSearch node for development and tests, assembled from Maven Central jars.
//
//   node scripts/opensearch.mjs fetch    resolve .ci/opensearch/pom.xml into .cache/opensearch/libs-<v> (mvn)
//                                        and compile the launcher .ci/opensearch/AgentrailOpenSearch.java
//   node scripts/opensearch.mjs start    fetch if needed, start one single-node cluster on 127.0.0.1 (free
//                                        ports), wait for green/yellow, write .cache/opensearch/state.json {url,…}
//   node scripts/opensearch.mjs stop     stop the node by its pid (SIGTERM, then SIGKILL)
//   node scripts/opensearch.mjs status   print the state and whether the node answers
//   node scripts/opensearch.mjs kill     SIGKILL the node (fault injection), keep its data and ports
//   node scripts/opensearch.mjs restart  start again on the same ports and data (after kill)
//
// Env: AGENTRAIL_OPENSEARCH_CACHE (state, data, log; default <repo>/.cache/opensearch),
// AGENTRAIL_OPENSEARCH_LIBS (jars; default <repo>/.cache/opensearch/libs-2.19.6),
// AGENTRAIL_OPENSEARCH_HEAP (default 512m).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, freePort, readJson, serviceCli } from './service-util.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = '2.19.6';
const cache = resolve(process.env.AGENTRAIL_OPENSEARCH_CACHE || join(root, '.cache', 'opensearch'));
const libs = resolve(process.env.AGENTRAIL_OPENSEARCH_LIBS || join(root, '.cache', 'opensearch', `libs-${VERSION}`));
const classes = join(libs, '..', `classes-${VERSION}`);
const launcherSrc = join(root, '.ci', 'opensearch', 'AgentrailOpenSearch.java');
const pom = join(root, '.ci', 'opensearch', 'pom.xml');
const stateFile = join(cache, 'state.json');
const home = join(cache, 'home');

function log(msg) {
  process.stderr.write(`opensearch: ${msg}\n`);
}

function fetchJars() {
  if (!existsSync(join(libs, `opensearch-${VERSION}.jar`))) {
    mkdirSync(libs, { recursive: true });
    const t0 = Date.now();
    log(`resolving org.opensearch:opensearch:${VERSION} and modules from Maven Central into ${libs}`);
    const r = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed (exit ${r.status}); is Maven installed and Maven Central reachable?`);
    log(`fetched ${readdirSync(libs).length} jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const cls = join(classes, 'AgentrailOpenSearch.class');
  if (!existsSync(cls) || statSync(cls).mtimeMs < statSync(launcherSrc).mtimeMs) {
    mkdirSync(classes, { recursive: true });
    const r = spawnSync('javac', ['-d', classes, '-cp', `${libs}/*`, launcherSrc], { stdio: 'inherit' });
    if (r.error || r.status !== 0) throw new Error(`javac failed (${r.error?.message ?? `exit ${r.status}`}); is openjdk-17-jdk-headless installed?`);
  }
}

async function health(url, timeoutMs = 3000) {
  try {
    const r = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return undefined;
    const h = await r.json();
    return h.status === 'green' || h.status === 'yellow' ? h.status : undefined;
  } catch {
    return undefined;
  }
}

function launch(st) {
  mkdirSync(home, { recursive: true });
  const out = openSync(join(cache, 'node.log'), 'a');
  const heap = process.env.AGENTRAIL_OPENSEARCH_HEAP || '512m';
  const args = [
    '-Xms256m',
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    '-Dlog4j2.disable.jmx=true',
    `-Dos.home=${home}`,
    `-Dos.http.port=${st.httpPort}`,
    `-Dos.transport.port=${st.transportPort}`,
    '-cp',
    `${classes}:${libs}/*`,
    'AgentrailOpenSearch',
  ];
  const child = spawn('java', args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  st.pid = child.pid;
  st.startedAt = new Date().toISOString();
}

async function waitReady(st, timeoutMs = 120_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!alive(st.pid)) throw new Error(`node exited during startup; see ${join(cache, 'node.log')}`);
    if (await health(st.url)) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`node not ready after ${timeoutMs} ms; see ${join(cache, 'node.log')}`);
}

async function start({ keepPorts = false } = {}) {
  const prev = readState();
  if (prev && alive(prev.pid) && (await health(prev.url))) {
    log(`already running: pid ${prev.pid}, ${prev.url}`);
    return prev;
  }
  fetchJars();
  mkdirSync(cache, { recursive: true });
  const st = keepPorts && prev ? { ...prev } : { version: VERSION, httpPort: await freePort(), transportPort: await freePort() };
  st.url = `http://127.0.0.1:${st.httpPort}`;
  st.logFile = join(cache, 'node.log');
  launch(st);
  writeFileSync(stateFile, JSON.stringify(st, null, 2) + '\n');
  const ms = await waitReady(st);
  log(`ready in ${(ms / 1000).toFixed(1)} s: pid ${st.pid}, ${st.url}`);
  return st;
}

const readState = () => readJson(stateFile);

await serviceCli('opensearch', { fetch: fetchJars, start, stateFile, answers: (s) => health(s.url), log });
