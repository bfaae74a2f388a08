/**
 * Runs inside the HTML report (bundled by scripts/bundle-report.mjs into one inline script, allowed by
 * its CSP hash): re-verifies the embedded log lines with the src/verify library itself (chain, Merkle
 * roots, and checkpoint signatures against the embedded verifier keys), then checks that every leaf
 * hash the timeline shows is a leaf of that log. The result replaces the text of #browser-verify.
 * Browser-only: no Node API; the DOM is reached through the small interface below.
 */
import { bytesToHex } from '../verify/bytes.js';
import { parseKeyring } from '../verify/keyring.js';
import { verifyLog } from '../verify/log-verifier.js';
import { leafHash } from '../verify/merkle.js';

interface El {
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  className: string;
}
interface Doc {
  getElementById(id: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
}
export interface EmbeddedLog {
  lines: string[];
  /** Verifier keyring text given with --keys, or '' (signatures not checked). */
  keys: string;
}

export async function verifyPage(doc: Doc): Promise<void> {
  const out = doc.getElementById('browser-verify');
  const data = doc.getElementById('agentrail-log');
  if (!out || !data) return;
  const show = (state: 'ok' | 'failed', text: string) => {
    out.textContent = text;
    out.setAttribute('data-state', state);
    out.className = state === 'ok' ? 'ok' : 'bad';
  };
  try {
    const log = JSON.parse(data.textContent ?? '') as EmbeddedLog;
    const keys = log.keys ? parseKeyring(log.keys) : [];
    const r = await verifyLog(log.lines, { keys, skipSignatures: keys.length === 0, allowUnsignedTail: true, allowTruncatedStart: true });
    const enc = new TextEncoder();
    const leaves = new Set(log.lines.map((l) => bytesToHex(leafHash(enc.encode(l)))));
    const shown = Array.from(doc.querySelectorAll('#timeline code.leaf-hash'), (e) => e.textContent ?? '');
    const found = shown.filter((h) => leaves.has(h)).length;
    const sig = keys.length ? `checkpoint signatures checked against the embedded key(s) ${keys.map((k) => `${k.name}+${k.keyId}`).join(', ')} (compare with the key you trust)` : 'signatures NOT checked (no --keys)';
    const head = `Verified in this browser by src/verify: ${r.lines} lines, sequence ${r.startSequence ?? '?'}..${r.lastSequence ?? '?'}, ${sig}; ${found} of ${shown.length} timeline leaf hashes are leaves of this log.`;
    if (r.ok && found === shown.length) show('ok', `${head} OK.`);
    else show('failed', `${head} FAILED${r.failure ? `: ${r.failure.reason} at sequence ${r.failure.sequence ?? '?'}: ${r.failure.detail}` : ': a timeline row is not in the log'}.`);
  } catch (e) {
    show('failed', `Verification in this browser FAILED: ${(e as Error).message}`);
  }
}

const g = globalThis as unknown as { document?: Doc };
if (g.document) void verifyPage(g.document);
