/**
 * AGENTRAIL_CPU_PROFILE (src/observability/cpu-profile.ts): `agentrail run` writes a V8 CPU profile of
 * the pipeline at stop, so a real workload can be profiled without `node --cpu-prof` (whose sampling
 * signals make the kernel's BPF verifier fail at start). A bad path is one error line, not a failed run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { capturePath } from '../replay/capture-tools.js';

test('a replay run with AGENTRAIL_CPU_PROFILE writes a profile whose samples reach the pipeline stages', async () => {
  const work = mkdtempSync(join(tmpdir(), 'ar-cpuprof-'));
  try {
    const cfg = join(work, 'c.yaml');
    writeFileSync(cfg, `observability:\n  httpEnabled: false\nseal:\n  keyDir: ${join(work, 'keys')}\n`);
    const file = join(work, 'sensor.cpuprofile');
    const r = await runCliAsync(['run', '--replay', capturePath('node-openai'), '--log-dir', join(work, 'log'), '--config', cfg], { env: { ...process.env, AGENTRAIL_CPU_PROFILE: file } });
    assert.equal(r.status, 0, r.stderr.slice(-1500));
    assert.match(r.stderr, /cpu profile written/);
    const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ callFrame: { url: string; functionName: string } }>; samples: number[]; startTime: number; endTime: number };
    assert.ok(p.samples.length > 0 && p.endTime > p.startTime, 'samples over time');
    const urls = new Set(p.nodes.map((n) => n.callFrame.url));
    assert.ok([...urls].some((u) => /\/src\/pipeline\.js$/.test(u)), 'the pipeline module is in the profile');

    const bad = await runCliAsync(['run', '--replay', capturePath('node-openai'), '--log-dir', join(work, 'log2'), '--config', cfg], { env: { ...process.env, AGENTRAIL_CPU_PROFILE: join(work, 'no', 'such', 'dir', 'x.cpuprofile') } });
    assert.equal(bad.status, 0, bad.stderr.slice(-1500));
    assert.equal(bad.stderr.match(/cpu profile failed/g)?.length, 1, 'one error line');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
