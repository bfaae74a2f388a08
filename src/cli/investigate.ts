import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { contentHashWithKey, SHORT_CONTENT_BYTES } from '../redact/hash.js';
import { readKeyFile } from '../redact/keyed-hash.js';
import type { CloudEvent } from '../contracts/envelope.js';
import { answer, type Answers, type Scope } from '../investigate/answers.js';
import { loadPageVerifier, renderHtmlReport, type Integrity } from '../investigate/html-report.js';
import { timelineRow, type TimelineRow } from '../investigate/timeline.js';
import { kafkaSettings, parseSource, readEvents } from '../sink/sources.js';
import { kafkaReadLines } from '../sink/kafka-reader.js';
import { verifyLog } from '../verify/log-verifier.js';
import { loadKeyringFile, readLines, sourceFiles } from '../verify/node-reader.js';
import type { Command } from './main.js';
import { writeOutFile } from './out-target.js';

const HELP = `usage: agentrail investigate SOURCE [--keys FILE] [--trace ID | --session ID | --pid N]
                           [--since T] [--until T] [--artifact FILE]... [--hmac-key FILE] [--json | --html FILE] [--config FILE]

Answers the five questions of an incident from the trail alone (docs/investigate.md): the input that
triggered the agent, the tools in order with parameter shapes, the data touched with bytes, every
egress with bytes out/in and, for each --artifact, every event that carries its SHA-256 (a file read,
a model request, a tool result, an egress body), and the identity chain. SOURCE is a local log
directory or kafka://host:port/topic. The log is verified first (with --keys, signatures too) and the
answer says which range is intact. --json prints a stable shape. --html FILE writes one
self-contained page (no script, no network): the verification status, the five answers and the
causal chain as a timeline, each row with its event id, sequence and Merkle leaf hash. An artifact
under 64 bytes is hashed with the deployment key (docs/events.md, "Hashes"): pass --hmac-key FILE.`;


/** Log bytes embedded in an HTML report for in-browser verification at most. */
const EMBED_MAX_BYTES = 32 << 20;

export const command: Command = {
  name: 'investigate',
  summary: 'answer the five incident questions from a trail',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        keys: { type: 'string' },
        trace: { type: 'string' },
        session: { type: 'string' },
        pid: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        artifact: { type: 'string', multiple: true },
        'hmac-key': { type: 'string' },
        json: { type: 'boolean' },
        html: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const source = positionals[0];
    if (!source) throw new AgentrailError('USAGE', 'SOURCE (log directory or kafka:// topic) is required', { hint: 'agentrail investigate --help' });
    if (values.json && values.html !== undefined) throw new AgentrailError('USAGE', '--json and --html are alternatives', { hint: 'agentrail investigate --help' });
    if (values.html === '') throw new AgentrailError('USAGE', '--html needs a FILE');
    const scope: Scope = {};
    if (values.trace) scope.trace = values.trace;
    if (values.session) scope.session = values.session;
    if (values.pid !== undefined) {
      if (!/^\d+$/.test(values.pid)) throw new AgentrailError('USAGE', `--pid must be a number (got ${values.pid})`);
      scope.pid = Number(values.pid);
    }
    for (const k of ['since', 'until'] as const) {
      const v = values[k];
      if (v === undefined) continue;
      if (Number.isNaN(Date.parse(v))) throw new AgentrailError('USAGE', `--${k} must be an ISO 8601 time (got ${v})`);
      scope[k] = new Date(v).toISOString().replace('Z', '000Z').replace(/\.(\d{6})\d*Z$/, '.$1Z');
    }
    const hmacKey = values['hmac-key'] ? readKeyFile(values['hmac-key']) : undefined;
    const artifacts = (values.artifact ?? []).map((f) => {
      let bytes: Buffer;
      try {
        if (!statSync(f).isFile()) throw new Error('not a regular file');
        bytes = readFileSync(f);
      } catch (e) {
        throw new AgentrailError('IO_READ', `cannot read artifact ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const sha256 = contentHashWithKey(bytes, hmacKey);
      if (!sha256) throw new AgentrailError('USAGE', `artifact ${f} is under ${SHORT_CONTENT_BYTES} bytes: the trail holds its keyed hash, pass --hmac-key FILE (the deployment HMAC key)`);
      return { name: basename(f), sha256 };
    });
    const spec = parseSource(source);

    // Verify first: an answer from an altered log must say so.
    const integrity: Integrity = { checked: false, signatures: false, ok: null, range: null, failure: null, startBound: null };
    // A Kafka topic is read once (all partitions, deduped, chain order): verified and answered from the same lines.
    const topicLines: string[] | undefined = spec.kind === 'kafka' ? [] : undefined;
    if (topicLines) for await (const l of kafkaReadLines(source, kafkaSettings(values.config))) topicLines.push(Buffer.from(l.bytes).toString('utf8'));
    {
      const keys = values.keys ? await loadKeyringFile(values.keys) : [];
      const toVerify = topicLines ? linesOf(topicLines) : readLines(sourceFiles((spec as { dir: string }).dir));
      const r = await verifyLog(toVerify, { keys, skipSignatures: !values.keys, allowUnsignedTail: true, allowTruncatedStart: true });
      integrity.checked = true;
      integrity.signatures = !!values.keys;
      integrity.ok = r.ok;
      integrity.startBound = r.startBound ?? null;
      integrity.range = r.startSequence ? `${r.startSequence}..${r.failure?.sequence ? Number(r.failure.sequence) - 1 : r.lastSequence}` : null;
      if (r.failure) integrity.failure = `${r.failure.reason} at sequence ${r.failure.sequence ?? '?'}: ${r.failure.detail}`;
    }
    const events: CloudEvent[] = [];
    const rows: TimelineRow[] = [];
    // The page re-verifies the whole log in the browser: its lines are embedded up to a size a browser handles.
    let lines: string[] | null = values.html !== undefined ? [] : null;
    let lineBytes = 0;
    let embedWhy = '';
    const all = topicLines ? eventsOf(topicLines) : readEvents(spec, kafkaSettings(values.config));
    for await (const { event, line } of all) {
      events.push(event);
      if (values.html === undefined) continue;
      const r = timelineRow(event, line, scope);
      if (r) rows.push(r);
      if (lines && line !== undefined) {
        lineBytes += line.length + 1;
        lines.push(line);
        if (lineBytes > EMBED_MAX_BYTES) {
          lines = null;
          embedWhy = `the log is larger than ${EMBED_MAX_BYTES >> 20} MiB, too large to embed (verify with agentrail verify)`;
        }
      }
    }
    const a = answer(events, scope, artifacts);
    if (values.html !== undefined) {
      const keysText = values.keys ? readFileSync(values.keys, 'utf8') : '';
      const embed = lines ? { lines, keys: keysText } : { reason: embedWhy };
      const { html, timelineShown } = renderHtmlReport({ source, integrity, answers: a, timeline: rows, generatedAt: new Date().toISOString(), embed, verifierScript: loadPageVerifier() });
      const out = writeOutFile(values.html, html, '--html', 'INVESTIGATE_OUT');
      const cut = timelineShown < rows.length ? `; timeline shows the first ${timelineShown} of ${rows.length} actions, narrow with --trace/--session/--pid/--since/--until` : '';
      process.stdout.write(`investigate: report written to ${out} (${a.events} events in scope, integrity ${!integrity.checked ? 'not checked' : integrity.ok ? 'OK' : 'FAILED'}${cut})\n`);
      return 0;
    }
    if (values.json) {
      process.stdout.write(JSON.stringify({ source, integrity, ...a }) + '\n');
      return 0;
    }
    process.stdout.write(text(source, integrity, a));
    return 0;
  },
};

function text(source: string, i: Integrity, a: Answers): string {
  const L: string[] = [];
  L.push(`agentrail investigate ${source}: ${a.events} events in scope${Object.keys(a.scope).length ? ` ${JSON.stringify(a.scope)}` : ''}`);
  L.push(
    !i.checked
      ? 'integrity: not verified'
      : i.ok
        ? `integrity: OK, sequence ${i.range} intact${i.signatures ? ', signatures checked' : ' (signatures NOT checked: pass --keys)'}${i.startBound === 'unverified' ? ', start not bound (oldest segments removed)' : ''}`
        : `integrity: FAILED (${i.failure}); answers below cover the log as it is, intact only for ${i.range}`,
  );
  L.push('', '1. Which input triggered the decision?');
  for (const x of a.q1_triggering_input) L.push(`   ${x.time} session ${x.agent_session_id}: first model call ${x.model} (${x.event_id}), instruction ${x.instruction_hash ?? '-'}, trace ${x.trace_id}${x.traceparent_adopted ? ' (adopted traceparent)' : ''}`);
  L.push('', '2. Which tools were called, in order, with which parameter shapes?');
  for (const x of a.q2_tools) L.push(`   ${x.time} ${x.tool} → ${x.target ?? '?'} params ${JSON.stringify(x.param_schema)}${x.param_sensitivity.length ? ` [${x.param_sensitivity.join(',')}]` : ''}, requested by ${x.requested_by ?? '-'}, returned ${x.return_hash ?? '-'} ${x.status ?? ''}`);
  L.push('', '3. Which data was touched, and how many bytes?');
  for (const x of a.q3_data.filter((r) => r.type !== 'socket')) L.push(`   ${x.resource} ${x.modes.join('/')} read ${x.bytes_read} B, written ${x.bytes_written} B${x.tags.length ? ` [${x.tags.join(',')}]` : ''} (${x.accesses}×)`);
  L.push('', '4. Did a given output leave? Where did bytes go?');
  for (const x of a.q4_egress.destinations) L.push(`   ${x.resource} out ${x.bytes_out} B, in ${x.bytes_in} B${x.plaintext ? `, plaintext seen: ${x.plaintext}` : ''}${x.request_hashes.length ? `, request bodies ${x.request_hashes.join(' ')}` : ''}`);
  for (const art of a.q4_egress.artifacts) {
    L.push(`   artifact ${art.artifact} (${art.sha256}): ${art.found.length ? `found in ${art.found.length} event(s)` : 'NOT found in the trail'}`);
    for (const f of art.found) L.push(`     #${f.sequence ?? '-'} ${f.type} ${f.field} ${f.resource ?? ''} (${f.event_id})`);
  }
  L.push('', '5. Which identity asserted which permissions?');
  for (const x of a.q5_identity) L.push(`   pid ${x.pid ?? '-'} uid ${x.uid ?? '-'} ${x.credential_type}${x.service_account ? ` sa=${x.service_account}` : ''}${x.federated_identity ? ` fed=${x.federated_identity}` : ''}${x.key_id_hash ? ` key=${x.key_id_hash}` : ''} asserted [${x.asserted_scope.join(',')}] granted ${x.granted_scope ? `[${x.granted_scope.join(',')}]` : '-'}${x.within_granted_scope === false ? ' OUTSIDE GRANTED SCOPE' : ''}${x.audience_host ? ` → ${x.audience_host}` : ''}`);
  if (a.policy.length) {
    L.push('', 'Policy decisions:');
    for (const p of a.policy) L.push(`   ${p.decision.toUpperCase()} ${p.policy_id} (${p.severity ?? '-'}) on ${p.evaluated_event_id ?? '-'}`);
  }
  return L.join('\n') + '\n';
}

async function* linesOf(lines: string[]): AsyncGenerator<{ bytes: Uint8Array; terminated: boolean }> {
  for (const l of lines) yield { bytes: Buffer.from(l, 'utf8'), terminated: true };
}

function* eventsOf(lines: string[]): Generator<{ event: CloudEvent; line: string }> {
  for (const line of lines) yield { event: JSON.parse(line) as CloudEvent, line };
}
