import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import escapeHtml from 'escape-html';
import { distRoot } from '../paths.js';
import type { Answers } from './answers.js';
import { causalGraphSvg } from './graph-svg.js';
import type { Lane, TimelineRow } from './timeline.js';

/**
 * `agentrail investigate --html FILE`: one self-contained page (inline CSS, no script, no external
 * reference of any kind) with the integrity status, the five answers and the causal chain as a
 * swimlane timeline. Every value from the trail is escaped: tool names, hosts and paths come from
 * the watched agent, i.e. possibly an attacker. The Content-Security-Policy forbids every fetch and
 * every script but one, the bundled in-page verifier (allowed by its SHA-256), so even a missed
 * escape could not run code or call out. That script re-verifies the embedded log lines with the
 * src/verify library itself.
 */
export interface Integrity {
  checked: boolean;
  signatures: boolean;
  ok: boolean | null;
  range: string | null;
  failure: string | null;
  startBound: string | null;
}

export interface ReportInput {
  source: string;
  integrity: Integrity;
  answers: Answers;
  timeline: TimelineRow[];
  generatedAt: string;
  /** Default MAX_TIMELINE_ROWS. */
  maxTimelineRows?: number;
  /** The log lines and verifier keys the page re-verifies with src/verify, or why they are not embedded. */
  embed: { lines: string[]; keys: string } | { reason: string };
  /** The bundled in-page verifier (loadPageVerifier()); null: not built. */
  verifierScript: string | null;
}

/** dist/report/page-verify.js, built by scripts/bundle-report.mjs (npm run build:ts). */
export function loadPageVerifier(): string | null {
  try {
    return readFileSync(join(distRoot, 'report', 'page-verify.js'), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  } catch {
    return null;
  }
}

/** JSON inside a <script type="application/json"> element: no '<', '>' or '&' can end or open a tag. */
const jsonForScript = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

const e = (v: unknown): string => escapeHtml(v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const LANES: Lane[] = ['model', 'tool', 'data', 'egress'];
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/** The in-browser verification block: the embedded data, the script (allowed by its hash only) and its output. */
function browserVerify(r: ReportInput): { csp: string; html: string; tail: string } {
  const why = 'reason' in r.embed ? r.embed.reason : r.verifierScript === null ? 'the in-page verifier is not built (npm run build:ts)' : null;
  if (why !== null) return { csp: CSP, html: `<section id="browser-verify" class="unk" data-state="unavailable">${e(`Not verified in this browser: ${why}.`)}</section>`, tail: '' };
  const script = r.verifierScript!;
  const hash = createHash('sha256').update(script, 'utf8').digest('base64');
  const data = 'lines' in r.embed ? r.embed : { lines: [], keys: '' };
  return {
    csp: `${CSP}; script-src 'sha256-${hash}'`,
    html: `<section id="browser-verify" class="unk" data-state="pending">Verifying in this browser (needs JavaScript)…</section>`,
    // At the end of the body: the script reads the timeline, which must be parsed by then.
    tail: `<script type="application/json" id="agentrail-log">${jsonForScript(data)}</script>\n<script>${script}</script>`,
  };
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border:1px solid #ccc;padding:.2em .4em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
code,.h{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.ok{background:#e5f6e5;border:2px solid #2a7a2a}.bad{background:#fde8e8;border:2px solid #b00020}.unk{background:#fff6d6;border:2px solid #a07000}
#integrity,#browser-verify{padding:.6em;margin:.8em 0}
.none{color:#777;font-style:italic}
#timeline td.lane{min-width:6em;max-width:16em;word-break:break-all}
#timeline td.f-ids{min-width:30em;font-size:11px}
tr.lane-model td.l-model{background:#e8f0fe}tr.lane-tool td.l-tool{background:#fef3e0}
tr.lane-data td.l-data{background:#eef7ee}tr.lane-egress td.l-egress{background:#fde8e8}
tr:target{outline:3px solid #444}
`;

function link(id: string | null, rows: Map<string, TimelineRow>): string {
  if (!id) return '<span class="none">-</span>';
  const r = rows.get(id);
  const label = r?.sequence ? `#${r.sequence}` : id;
  return `<a href="#ev-${e(id)}" title="${e(`${id}${r?.leaf_hash ? ` leaf ${r.leaf_hash}` : ''}`)}">${e(label)}</a>`;
}

function table(id: string, head: string[], body: string[], empty: string): string {
  const idAttr = id ? ` id="${id}"` : '';
  if (!body.length) return `<p${idAttr} class="none">${e(empty)}</p>`;
  return `<table${idAttr}><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

const td = (cls: string, html: string) => `<td class="f-${cls}">${html}</td>`;
const list = (xs: readonly unknown[]) => e(xs.map(String).join(', '));

function integrity(i: Integrity): string {
  const state = !i.checked ? 'unchecked' : i.ok ? 'ok' : 'failed';
  const cls = state === 'ok' ? 'ok' : state === 'failed' ? 'bad' : 'unk';
  const text = !i.checked
    ? 'Integrity not verified.'
    : i.ok
      ? `Integrity OK: sequence ${i.range ?? '?'} intact; ${i.signatures ? 'checkpoint signatures checked' : 'signatures NOT checked (pass --keys)'}${i.startBound === 'unverified' ? '; start not bound (oldest segments removed)' : ''}.`
      : `Integrity FAILED: ${i.failure ?? '?'}. The answers below cover the log as it is; intact only for ${i.range ?? 'nothing'}.`;
  return `<section id="integrity" class="${cls}" data-state="${state}">${e(text)}</section>`;
}

/** Rows drawn in the timeline at most: a browser stays usable; the page and the CLI say when rows were cut. */
export const MAX_TIMELINE_ROWS = 20_000;

export function renderHtmlReport(r: ReportInput): { html: string; timelineShown: number } {
  const a = r.answers;
  const shown = r.timeline.slice(0, r.maxTimelineRows ?? MAX_TIMELINE_ROWS);
  const cut = shown.length < r.timeline.length ? `<p id="timeline-cut"><b>Timeline cut:</b> the first ${shown.length} of ${r.timeline.length} actions are shown; narrow the scope with --trace, --session, --pid, --since or --until. The answers above cover all of them.</p>` : '';
  const rows = new Map(r.timeline.map((x) => [x.event_id, x]));
  const L = (id: string | null) => link(id, rows);
  const q1 = a.q1_triggering_input.map((x) => `<tr>${td('time', e(x.time))}${td('session', `<code>${e(x.agent_session_id)}</code>`)}${td('model', e(x.model))}${td('instruction_hash', `<code>${e(x.instruction_hash ?? '-')}</code>`)}${td('prompt_class', e(x.prompt_class ?? '-'))}${td('trace', `<code>${e(x.trace_id)}</code>${x.traceparent_adopted ? ' (adopted traceparent)' : ''}`)}${td('event', L(x.event_id))}</tr>`);
  const q2 = a.q2_tools.map((x) => `<tr>${td('time', e(x.time))}${td('tool', e(x.tool))}${td('target', e(x.target ?? '-'))}${td('param_schema', `<code>${e(x.param_schema)}</code>`)}${td('param_sensitivity', list(x.param_sensitivity))}${td('requested_by', L(x.requested_by))}${td('return_hash', `<code>${e(x.return_hash ?? '-')}</code>`)}${td('status', e(x.status ?? '-'))}${td('event', L(x.event_id))}</tr>`);
  const q3 = a.q3_data.filter((x) => x.type !== 'socket').map((x) => `<tr>${td('resource', `<code>${e(x.resource)}</code>`)}${td('modes', list(x.modes))}${td('bytes_read', e(x.bytes_read))}${td('bytes_written', e(x.bytes_written))}${td('tags', list(x.tags))}${td('accesses', e(x.accesses))}${td('event', L(x.first_event_id))}</tr>`);
  const q4 = a.q4_egress.destinations.map((x) => `<tr>${td('resource', `<code>${e(x.resource)}</code>`)}${td('bytes_out', e(x.bytes_out))}${td('bytes_in', e(x.bytes_in))}${td('plaintext', e(x.plaintext ?? '-'))}${td('request_hashes', `<code>${list(x.request_hashes)}</code>`)}${td('events', e(x.events))}</tr>`);
  const arts = a.q4_egress.artifacts.map(
    (x) =>
      `<div class="artifact"><p><b>${e(x.artifact)}</b> <code>${e(x.sha256)}</code>: ${x.found.length ? `found in ${x.found.length} event(s)` : '<b>NOT found in the trail</b>'}</p>` +
      (x.found.length ? table('', ['event', 'type', 'field', 'resource'], x.found.map((f) => `<tr>${td('event', L(f.event_id))}${td('type', e(f.type))}${td('field', e(f.field))}${td('resource', `<code>${e(f.resource ?? '')}</code>`)}</tr>`), '') : '') +
      '</div>',
  );
  const q5 = a.q5_identity.map((x) => `<tr>${td('pid', e(x.pid ?? '-'))}${td('uid', e(x.uid ?? '-'))}${td('credential_type', e(x.credential_type))}${td('service_account', e(x.service_account ?? '-'))}${td('federated_identity', e(x.federated_identity ?? '-'))}${td('key_id_hash', `<code>${e(x.key_id_hash ?? '-')}</code>`)}${td('asserted_scope', list(x.asserted_scope))}${td('granted_scope', x.granted_scope ? list(x.granted_scope) : '-')}${td('within', x.within_granted_scope === false ? '<b>OUTSIDE GRANTED SCOPE</b>' : e(x.within_granted_scope ?? '-'))}${td('audience_host', e(x.audience_host ?? '-'))}${td('event', L(x.event_id))}</tr>`);
  const pol = a.policy.map((x) => `<tr>${td('decision', e(String(x.decision ?? '').toUpperCase()))}${td('policy_id', e(x.policy_id))}${td('severity', e(x.severity ?? '-'))}${td('evaluated', L(x.evaluated_event_id))}${td('event', L(x.event_id))}</tr>`);
  const tl = shown.map((x) => {
    const lanes = LANES.map((l) => `<td class="lane l-${l}">${x.lane === l ? e(x.what) : ''}</td>`).join('');
    const other = LANES.includes(x.lane) ? '' : `${e(x.lane)}: ${e(x.what)}`;
    return `<tr id="ev-${e(x.event_id)}" class="lane-${e(x.lane)}">${td('sequence', e(x.sequence ?? '-'))}${td('time', `<span title="${e(x.time)}">${e(x.time.slice(11))}</span>`)}${lanes}${td('other', other)}${td('bytes', `${x.bytes_out === null ? '' : `out ${e(x.bytes_out)}`} ${x.bytes_in === null ? '' : `in ${e(x.bytes_in)}`}`)}${td('tags', list(x.tags))}${td('caused_by', L(x.caused_by))}${td('ids', `<code class="event-id">${e(x.event_id)}</code><br>leaf <code class="h leaf-hash">${e(x.leaf_hash ?? '-')}</code>`)}</tr>`;
  });
  const bv = browserVerify(r);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${bv.csp}">
<meta name="referrer" content="no-referrer">
<title>agentrail investigate: ${e(r.source)}</title>
<style>${CSS}</style></head><body>
<h1>agentrail investigate</h1>
<p>Source <code id="source">${e(r.source)}</code>, <span id="event-count">${e(a.events)}</span> events in scope${Object.keys(a.scope).length ? ` <code>${e(a.scope)}</code>` : ''}; generated ${e(r.generatedAt)}.</p>
${integrity(r.integrity)}
${bv.html}
<h2>1. Which input triggered the decision?</h2>
${table('q1', ['time', 'session', 'first model call', 'instruction hash', 'prompt class', 'trace', 'event'], q1, 'No model call in scope.')}
<h2>2. Which tools were called, in order, with which parameter shapes?</h2>
${table('q2', ['time', 'tool', 'target', 'parameter shape', 'parameter tags', 'requested by', 'returned (hash)', 'status', 'event'], q2, 'No tool call in scope.')}
<h2>3. Which data was touched, and how many bytes?</h2>
${table('q3', ['resource', 'modes', 'bytes read', 'bytes written', 'tags', 'accesses', 'first event'], q3, 'No data access in scope.')}
<h2>4. Did a given output leave? Where did bytes go?</h2>
${table('q4', ['destination', 'bytes out', 'bytes in', 'plaintext seen', 'request body hashes', 'events'], q4, 'No egress in scope.')}
<div id="artifacts">${arts.join('\n')}</div>
<h2>5. Which identity asserted which permissions?</h2>
${table('q5', ['pid', 'uid', 'credential', 'service account', 'federated identity', 'key id (keyed)', 'asserted scope', 'granted scope', 'within granted', 'audience', 'event'], q5, 'No identity assertion in scope.')}
<h2>Policy decisions</h2>
${table('policy', ['decision', 'policy', 'severity', 'evaluated event', 'event'], pol, 'No policy decision in scope.')}
<h2>Causal graph (model → tool → data → egress)</h2>
<p>Arrows: what requested or triggered what; red dashed: where each artifact's hash was found, in chain order. Nodes link to their timeline rows.</p>
<div id="graph-box" style="overflow-x:auto">${causalGraphSvg(r.timeline, a.q4_egress.artifacts)}</div>
<h2>Causal chain (model → tool → data → egress)</h2>
<p>Each row is one sealed event in chain order; "caused by" links to the event that requested or triggered it. The leaf hash is SHA-256(0x00 ‖ log line) (RFC 6962): <code>agentrail prove</code> shows its inclusion under a signed checkpoint.</p>
${cut}
${table('timeline', ['seq', 'time', 'model', 'tool', 'data', 'egress', 'other', 'bytes', 'tags', 'caused by', 'event id / leaf hash'], tl, 'No agent action in scope.')}
${bv.tail}
</body></html>
`;
  return { html, timelineShown: shown.length };
}
