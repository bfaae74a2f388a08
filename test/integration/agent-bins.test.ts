import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { type AgentName, agentBin, agentVersions } from '../helpers/agent-bins.js';
import { requireTool } from '../helpers/privileges.js';

// The pins of .ci/setup.d/60-agents.sh: each must be installed and its native binary must run.
const PINS: Array<[AgentName, string]> = [
  ['claude', '2.1.332'],
  ['claude', '2.1.329'],
  ['codex', '0.171.0'],
  ['gemini', '0.61.0'],
  ['bun', '1.4.5'],
  ['bun', '1.4.2'],
];

for (const [name, version] of PINS) {
  test(`${name}@${version} is installed and --version runs`, (t) => {
    if (!requireTool(t, agentVersions(name).includes(version), `${name}@${version} (.ci/setup.d/60-agents.sh)`)) return;
    const r = spawnSync(agentBin(name, version), ['--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(version), `${name} --version printed ${JSON.stringify(r.stdout.slice(0, 80))}`);
  });
}

test('agentBin picks the newest pinned version and fails clearly for a missing one', (t) => {
  if (!requireTool(t, agentVersions('bun').length >= 2, 'two bun versions (.ci/setup.d/60-agents.sh)')) return;
  assert.ok(agentBin('bun').includes('bun@1.4.5'));
  assert.throws(() => agentBin('bun', '0.0.1'), /60-agents\.sh/);
});
