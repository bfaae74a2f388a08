/**
 * Building the Go test fixtures with the machine's toolchains: the go on PATH
 * (.ci/setup.d/35-go.sh) and Debian's Go 1.19 (.ci/apt-packages.txt:
 * golang-1.19-go), whose .gopclntab has the older header (magic 0xfffffff0).
 * Standard library only; modules would come from the Go proxy (GOFLAGS=-mod=mod).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';

export const GO_TOOLCHAINS: Record<string, string> = { go: 'go', 'go1.19': '/usr/lib/go-1.19/bin/go' };

export function goAvailable(toolchain = 'go'): boolean {
  return spawnSync(GO_TOOLCHAINS[toolchain] ?? toolchain, ['version'], { stdio: 'ignore' }).status === 0;
}

/** `go build` of test/fixtures/<fixture> into `out`; stripped = -ldflags="-s -w". */
export function buildGoFixture(fixture: string, out: string, opts: { toolchain?: string; stripped?: boolean } = {}): string {
  const go = GO_TOOLCHAINS[opts.toolchain ?? 'go'] ?? 'go';
  execFileSync(go, ['build', ...(opts.stripped ? ['-ldflags=-s -w'] : []), '-o', out, '.'], {
    cwd: join(repoRoot, 'test', 'fixtures', fixture),
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    stdio: 'pipe',
  });
  return out;
}
