import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the compiled tree (…/dist or any --outDir): this file is <out>/src/paths.js. */
export const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function findRepoRoot(): string {
  if (process.env.AGENTRAIL_ROOT) return resolve(process.env.AGENTRAIL_ROOT);
  for (const start of [distRoot, process.cwd()]) {
    let d = start;
    for (;;) {
      const pj = join(d, 'package.json');
      if (existsSync(pj)) {
        try {
          if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'agentrail') return d;
        } catch {
          /* keep walking */
        }
      }
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  return process.cwd();
}

/** Repository (or install) root: bpf objects, the addon, schemas live below it. */
export const repoRoot = findRepoRoot();

/** Compiled CLI entry, for tests that spawn the real command. */
export const cliEntry = join(distRoot, 'src', 'cli', 'entry.js');
