/**
 * Verifier keyring file: one C2SP verifier key per line, optionally followed by a validity window
 * for rotation, `#` comments and blank lines ignored:
 *
 *   agentrail-node-a+1a2b3c4d+AXyz…  not-before=2026-01-01T00:00:00Z not-after=2026-07-01T00:00:00Z
 */
import { parseVerifierKey, type VerifierKey } from './note.js';

export function parseKeyring(text: string): VerifierKey[] {
  const keys: VerifierKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [vkey, ...opts] = line.split(/\s+/);
    let k: VerifierKey;
    try {
      k = parseVerifierKey(vkey!);
    } catch (e) {
      throw new Error(`keyring line ${i + 1}: ${(e as Error).message}`);
    }
    for (const o of opts) {
      const m = /^(not-before|not-after)=(.+)$/.exec(o);
      const t = m ? Date.parse(m[2]!) : NaN;
      if (!m || Number.isNaN(t)) throw new Error(`keyring line ${i + 1}: unknown option "${o.split('=')[0]}"`);
      if (m[1] === 'not-before') k.notBefore = t;
      else k.notAfter = t;
    }
    keys.push(k);
  });
  if (keys.length === 0) throw new Error('keyring: no keys');
  return keys;
}

export function formatKeyringLine(vkey: string, notBefore?: string, notAfter?: string): string {
  return [vkey, notBefore ? `not-before=${notBefore}` : '', notAfter ? `not-after=${notAfter}` : ''].filter(Boolean).join(' ');
}
