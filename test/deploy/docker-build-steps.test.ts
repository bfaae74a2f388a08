import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';

const script = join(repoRoot, 'scripts/docker-build-steps.sh');

function runSteps(args: string[]) {
  const r = spawnSync('bash', [script, ...args], {
    cwd: repoRoot,
    // The real `npm ci` (about 13 s from the warm npm cache CI's own `npm ci` leaves).
    env: { ...process.env, DOCKER_STEPS_REUSE_NODE_MODULES: '0' },
    encoding: 'utf8',
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('Dockerfile: multi-stage, bookworm + Node 24 build stage, slim runtime with libbpf and bpftrace', () => {
  const d = readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8');
  const froms = [...d.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(froms, ['node:24-bookworm', 'node:24-bookworm-slim']);
  for (const p of ['clang', 'libbpf-dev', 'bpftool']) assert.match(d, new RegExp(`install[^\\n]*\\b${p}\\b`));
  for (const p of ['libbpf1', 'bpftrace']) assert.match(d.slice(d.lastIndexOf('FROM')), new RegExp(`\\b${p}\\b`));
  for (const s of ['build:bpf', 'build:native', 'build:ts']) assert.match(d, new RegExp(`RUN npm run ${s}`));
});

test('the Dockerfile build stage runs as a script (scripts/docker-build-steps.sh)', () => {
  const r = runSteps([]);
  assert.equal(r.status, 0, r.out.slice(-4000));
  assert.match(r.out, /RUN npm ci/);
  assert.match(r.out, /RUN npm run build:bpf/);
  assert.match(r.out, /RUN npm run build:native/);
  assert.match(r.out, /COPY --from=build \/src\/native\/build\/Release\/agentrail.node ok/);
  assert.match(r.out, /apt packages resolvable: libbpf1 libelf1 zlib1g bpftrace/);
});

test('a broken Dockerfile step fails the script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-df-'));
  try {
    const bad = join(dir, 'Dockerfile');
    writeFileSync(bad, 'FROM node:24-bookworm AS build\nWORKDIR /src\nCOPY package.json ./\nRUN npm run no-such-script\n');
    const r = runSteps(['--dockerfile', bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /step failed .*no-such-script/);

    writeFileSync(bad, 'FROM node:24-bookworm AS build\nRUN apt-get update && apt-get install -y no-such-package-agentrail\n');
    const a = runSteps(['--dockerfile', bad]);
    assert.notEqual(a.status, 0);
    assert.match(a.out, /packages apt cannot install: no-such-package-agentrail/);

    writeFileSync(bad, 'FROM node:24-bookworm AS build\nWORKDIR /src\nCOPY package.json ./\nFROM debian:bookworm-slim\nCOPY --from=build /src/dist ./dist\n');
    const c = runSteps(['--dockerfile', bad]);
    assert.notEqual(c.status, 0);
    assert.match(c.out, /not produced by the build stage/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
