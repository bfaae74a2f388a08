/**
 * Every byte a local log directory holds (segments, checkpoints, …; not the
 * signing keys), as one latin1 string: the leak checks search it for API keys
 * and prompt canaries.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function allLogText(dir: string): string {
  let s = '';
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) s += allLogText(p);
    else if (!p.includes('/keys/')) s += readFileSync(p, 'latin1');
  }
  return s;
}
