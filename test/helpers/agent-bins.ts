/**
 * Where the agent runtimes installed for tests live. Looked up in order:
 * $AGENTRAIL_BUN, then .cache/agents/ (filled by .ci/setup.d/60-agents.sh:
 * any `bun` executable up to four levels down, newest path first), then
 * node_modules (npm `bun`, whose install script may be skipped: its binary is
 * then node_modules/bun/bin/bun.exe or @oven/bun-linux-x64/bin/bun).
 * Claude Code: $AGENTRAIL_CLAUDE, .cache/agents/ (`claude`), then
 * node_modules/@anthropic-ai/claude-code-linux-x64/claude (the native
 * platform binary, a `bun build --compile` executable).
 * Returns undefined when none runs (`--version` exits 0).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

function runs(p: string): boolean {
  return existsSync(p) && spawnSync(p, ['--version'], { timeout: 20_000 }).status === 0;
}

function findNamed(dir: string, names: string[], depth: number): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...findNamed(p, names, depth - 1));
    else if (names.includes(e) && st.mode & 0o111) out.push(p);
  }
  return out;
}

export function bunBinary(): string | undefined {
  const candidates = [
    process.env.AGENTRAIL_BUN ?? '',
    ...findNamed(join(root, '.cache/agents'), ['bun'], 4).sort().reverse(),
    join(root, 'node_modules/bun/bin/bun.exe'),
    join(root, 'node_modules/@oven/bun-linux-x64/bin/bun'),
  ];
  return candidates.find((p) => p !== '' && runs(p));
}

export function claudeBinary(): string | undefined {
  const candidates = [
    process.env.AGENTRAIL_CLAUDE ?? '',
    ...findNamed(join(root, '.cache/agents'), ['claude'], 5).sort().reverse(),
    join(root, 'node_modules/@anthropic-ai/claude-code-linux-x64/claude'),
  ];
  return candidates.find((p) => p !== '' && runs(p));
}
