/**
 * Paths of the real agent CLIs installed by .ci/setup.d/60-agents.sh into
 * .cache/agents/<package>@<version>/ (one npm prefix per pinned version).
 * `agentBin(name)` gives the newest pinned version, `agentBin(name, v)` that
 * version; an env override (AGENTRAIL_CLAUDE, _CODEX, _GEMINI, _BUN) wins.
 * Throws a clear error naming the setup script when the binary is missing.
 * bunBinary/claudeBinary keep the names used on the issue-10b branch.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';

export type AgentName = 'claude' | 'codex' | 'gemini' | 'bun';

const PACKAGE: Record<AgentName, string> = {
  claude: '@anthropic-ai+claude-code',
  codex: '@openai+codex',
  gemini: '@google+gemini-cli',
  bun: 'bun',
};

const agentsDir = (): string => join(repoRoot, '.cache', 'agents');

/** Installed versions of an agent, newest first. */
export function agentVersions(name: AgentName): string[] {
  if (!existsSync(agentsDir())) return [];
  const prefix = `${PACKAGE[name]}@`;
  return readdirSync(agentsDir())
    .filter((d) => d.startsWith(prefix) && existsSync(join(agentsDir(), d, 'node_modules', '.bin', name)))
    .map((d) => d.slice(prefix.length))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
}

export function agentBin(name: AgentName, version?: string): string {
  const env = process.env[`AGENTRAIL_${name.toUpperCase()}`];
  if (env && !version) return env;
  const v = version ?? agentVersions(name)[0];
  const p = v === undefined ? undefined : join(agentsDir(), `${PACKAGE[name]}@${v}`, 'node_modules', '.bin', name);
  if (!p || !existsSync(p)) throw new Error(`${name}${version ? `@${version}` : ''} is not installed: run .ci/setup.d/60-agents.sh`);
  return p;
}

export function bunBinary(): string | undefined {
  try {
    return agentBin('bun');
  } catch {
    return undefined;
  }
}

export function claudeBinary(): string | undefined {
  try {
    return agentBin('claude');
  } catch {
    return undefined;
  }
}
