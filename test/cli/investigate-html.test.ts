/**
 * `investigate --html`: every string from the trail is attacker-controlled (the watched agent names
 * its tools, hosts and paths), so the report must show it as text. A real sealed log carries hostile
 * values in every field the page prints; the raw HTML must hold none of them as markup, and in a real
 * headless Chromium each renders as its literal text, no element is injected, and nothing is fetched.
 * A tampered line must turn the report's integrity banner to FAILED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventTypes, makeEnvelope } from '../../src/contracts/envelope.js';
import { answer } from '../../src/investigate/answers.js';
import { renderHtmlReport } from '../../src/investigate/html-report.js';
import { timelineRow } from '../../src/investigate/timeline.js';
import { runCli } from '../helpers/cli.js';
import { browserVerdict, openFile, requireChromium } from '../helpers/browser.js';
import { openSealed, testKey, tmpDir } from '../sink/sealed.js';

const TOOL = `<img src=x onerror="document.title='pwned'">`;
const MODEL = `</td></tr></table><iframe src="http://127.0.0.1:9/model"></iframe>`;
const FILE_URI = `file:///tmp/a"><script>document.title='pwned'</script>`;
const URL_URI = `https://x.example/"'><svg onload=alert(1)>`;
const SA = `<u>sa</u>`;
const POLICY = `<marquee>p</marquee>`;
const TAG = `<i>tag</i>`;
/** An event id is used in id="…" and href="#…" attributes: it must round-trip as an attribute value. */
const EVIL_ID = `x"><img src=x onerror=alert(3)>`;
const HOSTILE = [TOOL, MODEL, FILE_URI, URL_URI, SA, POLICY, TAG, EVIL_ID];
const H = (c: string) => `sha256:${c.repeat(64)}`;

async function hostileLog(dir: string) {
  const { sealer } = await openSealed(join(dir, 'log'));
  const src = sealer.source;
  const model = makeEnvelope({ type: EventTypes.modelInvocation, source: src, id: EVIL_ID, data: { model_id: MODEL, agent_session_id: 'sess-1', trace_id: 't'.repeat(32), cause: { instruction_hash: `hmac-sha256:${'1'.repeat(64)}` }, prompt_class: 'other', tools_requested: [{ name: TOOL, arguments_hash: H('2') }] } });
  const tool = makeEnvelope({ type: EventTypes.toolInvocation, source: src, data: { tool_name: TOOL, cause: { event_id: EVIL_ID }, param_schema: { properties: { '<script>x</script>': { type: 'string' } } }, param_sensitivity: [TAG], return_hash: H('3'), outcome: { status: 'success' } } });
  sealer.seal(model);
  sealer.seal(tool);
  sealer.seal(makeEnvelope({ type: EventTypes.dataAccess, source: src, data: { resource_uri: FILE_URI, resource_type: 'file', access_mode: 'read', bytes_read: 10, bytes_written: 0, sensitivity_tags_resolved: [TAG] } }));
  sealer.seal(makeEnvelope({ type: EventTypes.dataAccess, source: src, data: { resource_uri: URL_URI, resource_type: 'url', access_mode: 'write', bytes_read: 2, bytes_written: 5, request_hash: H('4'), network: { plaintext: 'full' } } }));
  sealer.seal(makeEnvelope({ type: EventTypes.identityAssertion, source: src, data: { credential_type: 'api_key', service_account: SA, key_id_hash: `hmac-sha256:${'5'.repeat(64)}`, asserted_scope: [SA], process: { pid: 4242 }, uid: 0 } }));
  sealer.seal(makeEnvelope({ type: EventTypes.policyDecision, source: src, data: { decision: 'deny', policy_id: POLICY, evaluated_event_id: tool.id } }));
  await sealer.close();
  const keys = join(dir, 'verifier.keys');
  writeFileSync(keys, testKey.verifier + '\n');
  return { logDir: join(dir, 'log'), keys };
}

test('investigate --html: hostile tool names, hosts, paths and ids render as text; nothing is fetched; tampering shows FAILED', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir('agentrail-html-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logDir, keys } = await hostileLog(dir);
  const out = join(dir, 'report.html');
  const r = runCli(['investigate', logDir, '--keys', keys, '--html', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /report written to .*report\.html \(\d+ events in scope, integrity OK\)/);
  const html = readFileSync(out, 'utf8');

  // Raw: no hostile value appears unescaped, and the page refers to nothing outside itself.
  for (const v of HOSTILE) assert.ok(!html.includes(v), `unescaped in the HTML: ${v}`);
  assert.ok(html.includes('&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;'), 'the tool name is there, escaped');
  assert.doesNotMatch(html, /<(?:img|iframe|link|object|embed)\b/i);
  assert.equal(html.match(/<svg\b/g)?.length, 1, 'one svg: the causal graph');
  // Two scripts, both ours: the embedded log (data, never run) and the in-page verifier, allowed by its hash.
  assert.deepEqual(html.match(/<script[^>]*>/g), ['<script type="application/json" id="agentrail-log">', '<script>']);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; script-src 'sha256-[A-Za-z0-9+/]{43}='">/);

  // Both flags at once is a usage error, one line with its code.
  const both = runCli(['investigate', logDir, '--json', '--html', out]);
  assert.equal(both.status, 2, both.stderr);
  assert.match(both.stderr.trim(), /^agentrail investigate: USAGE: --json and --html are alternatives/);

  // A device or a missing directory as --html: one line with its code, nothing written.
  const dev = runCli(['investigate', logDir, '--html', '/dev/full']);
  assert.equal(dev.status, 1);
  assert.match(dev.stderr.trim(), /^agentrail investigate: INVESTIGATE_OUT: --html \/dev\/full is not a regular file/);
  const missing = runCli(['investigate', logDir, '--html', join(dir, 'no', 'such', 'r.html')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr.trim(), /^agentrail investigate: INVESTIGATE_OUT: .*ENOENT$/);

  if (requireChromium(t)) {
    const { page, requests, console: msgs } = await openFile(t, out);
    assert.equal(await page.title(), `agentrail investigate: ${logDir}`, 'no script ran');
    assert.equal(await page.locator('img, iframe, marquee, u, i, [onload], [onerror]').count(), 0, 'no element injected');
    assert.equal(await page.locator('svg').count(), 1);
    // The graph draws the hostile tool as a node whose label is its text, linked to its timeline row.
    const titles = await page.locator('#graph a.node > title').allTextContents();
    assert.ok(titles.some((x) => x.startsWith(`tool.invocation ${TOOL} (success)`)), JSON.stringify(titles));
    assert.equal(await page.locator('script').count(), 2);
    // The page re-verifies its embedded log with src/verify, signatures included, and finds every timeline leaf in it.
    const v = await browserVerdict(page);
    assert.equal(v.state, 'ok', v.text);
    assert.match(v.text, /checkpoint signatures checked against the embedded key\(s\) agentrail-test\+[0-9a-f]{8}.*; 6 of 6 timeline leaf hashes are leaves of this log\. OK\.$/);
    assert.equal(await page.locator('#q2 td.f-tool').first().textContent(), TOOL);
    assert.equal(await page.locator('#q1 td.f-model').textContent(), MODEL);
    assert.ok((await page.locator('#q3 td.f-resource').allTextContents()).includes(FILE_URI));
    assert.equal(await page.locator('#q4 td.f-resource').textContent(), URL_URI);
    assert.equal(await page.locator('#q5 td.f-service_account').textContent(), SA);
    assert.equal(await page.locator('#policy td.f-policy_id').textContent(), POLICY);
    // The hostile id is an intact attribute: its timeline row exists and the tool's "requested by" links to it.
    const row = await page.evaluate<string | null>(`document.getElementById(${JSON.stringify(`ev-${EVIL_ID}`)})?.className ?? null`);
    assert.equal(row, 'lane-model');
    assert.equal(await page.locator('#q2 td.f-requested_by a').getAttribute('href'), `#ev-${EVIL_ID}`);
    const external = await page.evaluate<string[]>(`[...document.querySelectorAll('[href],[src]')].map((x) => x.getAttribute('href') ?? x.getAttribute('src')).filter((v) => !v.startsWith('#'))`);
    assert.deepEqual(external, [], 'every link stays in the page');
    assert.deepEqual(requests, [pathToFileURL(out).href], 'no network request');
    assert.deepEqual(msgs, [], 'the CSP refused nothing');
  }

  // A forged page: one timeline leaf hash edited in the HTML. The browser check finds it.
  if (requireChromium(t)) {
    const forged = join(dir, 'forged.html');
    const leaf = /<code class="h leaf-hash">([0-9a-f]{64})<\/code>/.exec(html)![1]!;
    const cell = `<code class="h leaf-hash">${leaf}</code>`;
    writeFileSync(forged, html.replace(cell, cell.replace(leaf, leaf.replace(/^./, (c) => (c === '0' ? '1' : '0')))));
    const v = await browserVerdict((await openFile(t, forged)).page);
    assert.equal(v.state, 'failed');
    assert.match(v.text, /5 of 6 timeline leaf hashes are leaves of this log\. FAILED: a timeline row is not in the log\.$/);
  }

  // Tamper with one sealed line: the banner says FAILED, not OK, and so does the browser.
  const seg = join(logDir, 'segments', readdirSync(join(logDir, 'segments')).find((f) => f.endsWith('.jsonl'))!);
  writeFileSync(seg, readFileSync(seg, 'utf8').replace('"bytes_read":10', '"bytes_read":99'));
  const bad = runCli(['investigate', logDir, '--keys', keys, '--html', out]);
  assert.equal(bad.status, 0, bad.stderr);
  assert.match(bad.stdout, /integrity FAILED/);
  assert.match(readFileSync(out, 'utf8'), /<section id="integrity" class="bad" data-state="failed">Integrity FAILED: /);
  if (requireChromium(t)) {
    const v = await browserVerdict((await openFile(t, out)).page);
    assert.equal(v.state, 'failed');
    assert.match(v.text, / FAILED: [A-Z_]+ at sequence \d+: /);
  }
});

test('investigate --html: a timeline longer than the cap says how many actions it left out', () => {
  const evs = Array.from({ length: 5 }, (_, i) => makeEnvelope({ type: EventTypes.dataAccess, source: 's', data: { resource_uri: `file:///f${i}`, resource_type: 'file', access_mode: 'read', bytes_read: i, bytes_written: 0 } }));
  const rows = evs.map((e) => timelineRow(e, JSON.stringify(e), {})!);
  const integrity = { checked: true, signatures: false, ok: true, range: '1..5', failure: null, startBound: null };
  const { html, timelineShown } = renderHtmlReport({ source: 'x', integrity, answers: answer(evs, {}, []), timeline: rows, generatedAt: 't', maxTimelineRows: 2, embed: { reason: 'test' }, verifierScript: null });
  assert.equal(timelineShown, 2);
  assert.match(html, /<p id="timeline-cut"><b>Timeline cut:<\/b> the first 2 of 5 actions are shown/);
  assert.equal(html.match(/<tr id="ev-/g)?.length, 2);
  assert.match(html, /signatures NOT checked/);
});
