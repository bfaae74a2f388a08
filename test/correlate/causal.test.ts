import { setDeploymentKey } from '../../src/redact/keyed-hash.js';
import { expectedContentHash, expectedKeyedHash, plainSha256 } from '../helpers/expected-hash.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, d, exec, exit, fdio, fork, harness, httpExchange, llmExchange, open, referenceSession } from '../event/scenario.js';

const KEY = randomBytes(32);
setDeploymentKey(KEY);
const sha = (s: string) => expectedContentHash(s, KEY);
const plant = { prompt: 'p', arg: 'a', fileText: 'rows: 3', key: 'sk-proj-AbCdEf0123456789AbCdEf0123456789', toolResult: 'id,name\n1,x\n' };

test('model invocation → tool invocation → data access chain (local tools, MCP tool, exec)', () => {
  const { b, byType } = harness();
  referenceSession(b, plant);
  const models = byType('model.invocation');
  assert.equal(models.length, 3);
  const [m1, m2, m3] = models.map(d);
  assert.deepEqual(m1!.tools_requested.map((t: { name: string }) => t.name), ['read_file']);
  assert.deepEqual(m1!.tools_requested[0].param_schema, {
    type: 'object',
    properties: { path: { type: 'string', format: 'path' }, note: { type: 'string' } },
  });
  assert.equal(m1!.prompt_token_count, 57);
  assert.equal(m1!.token_count_source, 'api');
  assert.equal(m1!.cause.type, 'user_instruction');
  // Keyed (docs/events.md): reproducible with the deployment key, not by guessing the instruction.
  const instr = `Read the file /data/customers.csv and summarize it. ${plant.prompt}`;
  assert.equal(m1!.cause.instruction_hash, expectedKeyedHash('instruction', instr, KEY));
  assert.notEqual(m1!.cause.instruction_hash, plainSha256(instr));

  const tools = byType('tool.invocation').map(d);
  const readFile = tools.find((t) => t.tool_name === 'read_file')!;
  const runShell = tools.find((t) => t.tool_name === 'run_shell')!;
  const queryDb = tools.find((t) => t.tool_name === 'query_db')!;
  assert.ok(readFile && runShell && queryDb, 'three tool invocations');
  assert.equal(readFile.triggering_event_id, m1!.event_id);
  assert.equal(readFile.transport, 'local');
  assert.equal(readFile.target_resource_type, 'file');
  assert.equal(readFile.return_hash, sha(plant.toolResult));
  assert.equal(readFile.return_size, Buffer.byteLength(plant.toolResult));
  assert.equal(readFile.duration_ms, 30); // model 1 answered at 50 ms, result sent back at 80 ms
  assert.equal(runShell.triggering_event_id, m2!.event_id);
  assert.equal(runShell.target_resource_type, 'process');
  assert.equal(queryDb.triggering_event_id, m2!.event_id);
  assert.equal(queryDb.transport, 'mcp');
  assert.equal(queryDb.tool_version, '1.4.2');
  assert.deepEqual(queryDb.mcp_server, { name: 'db-server', version: '1.4.2' });
  assert.equal(queryDb.return_size, 77);
  assert.equal(queryDb.return_hash, sha(plant.fileText));
  assert.equal(queryDb.duration_ms, 6);

  // Tool results echoed back link the next model call to the tools.
  assert.deepEqual(m2!.tool_result_event_ids, [readFile.event_id]);
  assert.equal(m2!.cause.type, 'tool_result');
  assert.deepEqual([...m3!.tool_result_event_ids].sort(), [runShell.event_id, queryDb.event_id].sort());
  // One user turn: same invocation id, increasing steps.
  assert.equal(m2!.agent.invocation_id, m1!.agent.invocation_id);
  assert.equal(m3!.reasoning.step, 3);
  assert.equal(readFile.agent.invocation_id, m1!.agent.invocation_id);

  const data = byType('data.access').map(d);
  const csv = data.find((x) => x.resource_uri === 'file:///data/customers.csv')!;
  assert.equal(csv.byte_count, 4096);
  assert.equal(csv.access_mode, 'read');
  assert.equal(csv.triggering_event_id, readFile.event_id);
  const ls = data.find((x) => x.resource_uri === 'file:///bin/ls')!;
  assert.equal(ls.access_mode, 'execute');
  assert.equal(ls.triggering_event_id, runShell.event_id);
  const db = data.find((x) => x.resource_uri === 'file:///srv/db/main.sqlite')!;
  assert.equal(db.byte_count, 8192);
  assert.equal(db.triggering_event_id, queryDb.event_id);
});

test('a traceparent seen in a request is adopted as the session trace id; children share the session', () => {
  const { b, events } = harness();
  referenceSession(b, plant);
  const after = events.filter((e) => d(e).ts > d(events.find((x) => x.type.endsWith('model.invocation'))).ts || e.type.endsWith('model.invocation'));
  assert.ok(after.length > 5);
  for (const e of after) {
    assert.equal(d(e).trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(e.traceparent!, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.equal(e.partitionkey, '4bf92f3577b34da6a3ce929d0e0e4736');
  }
  const sessions = new Set(events.map((e) => d(e).agent_session_id));
  assert.equal(sessions.size, 1, 'the agent and its children are one session');
  assert.equal(d(after[0]).cause.session_id, 'otel:4bf92f3577b34da6a3ce929d0e0e4736');
});

test('separate process trees are separate sessions with their own trace ids', () => {
  const { b, events } = harness();
  b.onRaw(exec(200, 1, 1, '/usr/bin/python3', ['python3', 'a.py']));
  b.onRaw(exec(300, 1, 2, '/usr/bin/python3', ['python3', 'b.py']));
  b.onRaw(open(200, 3, '/home/u/a.txt', 4));
  b.onRaw(open(300, 3, '/home/u/b.txt', 4));
  b.flush();
  const acc = events.filter((e) => e.type.endsWith('data.access') && d(e).access_mode === 'read');
  assert.equal(acc.length, 2);
  assert.notEqual(d(acc[0]).trace_id, d(acc[1]).trace_id);
  assert.notEqual(d(acc[0]).agent_session_id, d(acc[1]).agent_session_id);
  assert.match(d(acc[0]).workload_id, /^host:[^/]+\/python3$/);
});

test('errors: EACCES on open, refused connect, non-zero exit, HTTP error with a retry', () => {
  let now = 0;
  const { b, byType } = harness({ nowMs: () => now });
  b.onRaw(exec(400, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onRaw(open(400, 5, '/etc/shadow', -13));
  b.onRaw(connect(400, 6, -111));
  b.onRaw(fork(400, 401, 7));
  b.onRaw(exec(401, 400, 8, '/usr/bin/false', ['false']));
  b.onRaw(exit(401, 9, 1));
  b.onExchange(httpExchange(400, 20, 5, { method: 'GET', path: '/v1/items?token=abc&page=2', authority: 'api.example.com' }, { status: 503 }));
  b.onExchange(httpExchange(400, 40, 5, { method: 'GET', path: '/v1/items?token=abc&page=2', authority: 'api.example.com' }, { status: 200, body: '[1,2,3]' }));
  now = 10_000;
  b.tick();
  const errs = byType('error').map(d);
  const acc = byType('data.access').map(d);
  const shadow = acc.find((a) => a.resource_uri === 'file:///etc/shadow')!;
  assert.equal(shadow.outcome.status, 'FAILURE');
  assert.deepEqual(shadow.sensitivity_tags_resolved, ['secret:password_hash']);
  const denied = errs.find((e) => e.error_class === 'permission_denied')!;
  assert.equal(denied.errno, 13);
  assert.equal(denied.originating_event_id, shadow.event_id);
  assert.equal(denied.recovery_action, 'none');
  assert.ok(errs.find((e) => e.error_class === 'connection_refused' && e.errno === 111));
  const exitErr = errs.find((e) => e.error_class === 'process_exit_nonzero')!;
  assert.equal(exitErr.exit_code, 1);
  const falseExec = acc.find((a) => a.resource_uri === 'file:///usr/bin/false')!;
  assert.equal(exitErr.originating_event_id, falseExec.event_id);
  const httpErr = errs.find((e) => e.error_class === 'http_server_error')!;
  assert.equal(httpErr.http_status, 503);
  assert.equal(httpErr.recovery_action, 'retry');
  const urls = acc.filter((a) => a.resource_type === 'url');
  assert.equal(urls.length, 2);
  assert.equal(urls[0]!.resource_uri, 'https://api.example.com/v1/items?token=&page=');
  assert.equal(httpErr.originating_event_id, urls.find((u) => u.outcome.status === 'FAILURE')!.event_id);
  assert.equal(httpErr.retry_event_id, urls.find((u) => u.outcome.status === 'SUCCESS')!.event_id);
  assert.equal(urls.find((u) => u.outcome.status === 'SUCCESS')!.row_count, 3);
});

test('data accesses wait for the hold-back so an MCP call that completes later still claims them', () => {
  let now = 0;
  const { b, byType } = harness({ nowMs: () => now, holdbackMs: 500 });
  b.onRaw(exec(500, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onRaw(fork(500, 501, 2));
  b.onRaw(exec(501, 500, 3, '/usr/bin/python3', ['python3', 'fs_server.py']));
  b.onRaw(open(501, 12, '/srv/docs/report.txt', 5));
  b.onRaw(fdio(501, 13, 5, 300, 0));
  assert.equal(byType('data.access').filter((e) => d(e).resource_uri.includes('report')).length, 0, 'held back');
  now = 100;
  b.tick();
  b.onExchange({
    stream: { key: 'pipe:7', transport: 'pipe', pid: 500, tid: 500, cgroupId: 1n, fd: -1 },
    protocol: 'jsonrpc-stdio',
    mcp: { method: 'tools/call', id: 3, params: {}, toolName: 'read_text', arguments: { name: 'report.txt' }, result: {}, resultText: 'ok', resultBytes: 2 },
    startNs: 10n * 1_000_000n,
    endNs: 15n * 1_000_000n,
    incomplete: false,
  });
  now = 1000;
  b.tick();
  const tool = d(byType('tool.invocation')[0]);
  const acc = byType('data.access').map(d).find((x) => x.resource_uri === 'file:///srv/docs/report.txt')!;
  assert.equal(acc.triggering_event_id, tool.event_id);
  assert.equal(acc.cause.type, 'tool_invocation');
  assert.equal(tool.triggering_event_id, null, 'no model asked for it');
});

test('identity assertions: process credentials once per session, bearer JWT reduced to key hash + claims, granted scope from config', async () => {
  const { SignJWT } = await import('jose');
  const jwt = await new SignJWT({ scope: 'repo:read repo:write', email: 'x@y.z' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('agent-7').setIssuer('https://issuer.example').sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef'));
  const { b, byType } = harness({ grantedScopes: { 'host:*/node': ['repo:read', 'uid:*', 'gid:*'] } });
  b.onRaw(exec(600, 1, 1, '/usr/bin/node', ['node', 'agent.js'], 1001));
  b.onRaw(fork(600, 601, 2));
  b.onRaw(exec(601, 600, 3, '/bin/sh', ['sh'], 1001));
  b.onExchange(httpExchange(600, 10, 5, { method: 'GET', path: '/repos', authority: 'git.example.com:443', headers: [['authorization', `Bearer ${jwt}`]] }, { status: 200 }));
  b.onExchange(httpExchange(600, 20, 5, { method: 'GET', path: '/repos', authority: 'git.example.com:443', headers: [['authorization', `Bearer ${jwt}`]] }, { status: 200 }));
  b.flush();
  const ids = byType('identity.assertion').map(d);
  assert.equal(ids.length, 2, 'one process credential + one token (deduplicated)');
  const proc = ids.find((i) => i.credential_type === 'process_credentials')!;
  assert.deepEqual(proc.asserted_scope, ['uid:1001', 'gid:1001']);
  assert.equal(proc.service_account, 'unix:uid:1001');
  assert.equal(proc.within_granted_scope, true);
  const tok = ids.find((i) => i.credential_type === 'jwt')!;
  assert.match(tok.key_id_hash, /^hmac-sha256:[0-9a-f]{64}$/, 'keyed: a key id cannot be confirmed by guessing');
  assert.equal(tok.jwt_claims.sub, 'agent-7');
  assert.equal(tok.jwt_claims.iss, 'https://issuer.example');
  assert.equal(tok.jwt_claims.kid, 'k1');
  assert.equal('email' in tok.jwt_claims, false, 'claims outside the allow-list are dropped');
  assert.deepEqual(tok.asserted_scope, ['repo:read', 'repo:write']);
  assert.deepEqual(tok.granted_scope, ['repo:read', 'uid:*', 'gid:*']);
  assert.equal(tok.within_granted_scope, false, 'repo:write is asserted but not granted');
  assert.equal(tok.audience_host, 'git.example.com');
  assert.equal(JSON.stringify(ids).includes(jwt.split('.')[2]!), false);
});

test('a model tool request never acted on leaves no tool invocation, but stays in tools_requested', () => {
  const { b, byType } = harness();
  b.onRaw(exec(700, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(llmExchange(700, 10, 5, { inputTexts: [{ role: 'user', text: 'delete the bucket' }], toolsRequested: [{ name: 'delete_bucket', callId: 'c9', arguments: { bucket: 'b' } }] }));
  b.flush();
  assert.equal(byType('tool.invocation').length, 0);
  assert.equal(d(byType('model.invocation')[0]).tools_requested[0].name, 'delete_bucket');
});

test('a second user turn re-sending the history starts a new invocation; old results do not re-link', () => {
  const { b, byType } = harness();
  referenceSession(b, plant);
  const first = d(byType('model.invocation')[0]);
  b.onExchange(
    llmExchange(100, 400, 10, {
      inputTexts: [
        { role: 'user', text: 'Read the file /data/customers.csv and summarize it. p' },
        { role: 'tool', text: plant.toolResult },
        { role: 'assistant', text: 'Summary: rows: 3' },
        { role: 'user', text: 'Thanks. Now translate the summary into French.' },
      ],
      toolResults: [{ callId: 'call_1', name: 'read_file', text: plant.toolResult }],
      outputText: 'Résumé',
    }),
  );
  b.flush();
  const m4 = d(byType('model.invocation')[3]);
  assert.notEqual(m4.agent.invocation_id, first.agent.invocation_id);
  assert.deepEqual(m4.tool_result_event_ids, []);
  assert.equal(m4.cause.type, 'user_instruction');
  assert.equal(m4.prompt_class, 'translation');
  assert.equal(m4.reasoning.step, 1);
  // Tool texts listed among the inputs are counted once.
  assert.equal(m4.input_byte_count, Buffer.byteLength(['Read the file /data/customers.csv and summarize it. p', plant.toolResult, 'Summary: rows: 3', 'Thanks. Now translate the summary into French.'].join('')));
});

test('a process that started before the sensor is read from /proc: comm, exe, credentials', async () => {
  const { readLiveProcess } = await import('../../src/correlate/process-table.js');
  const me = readLiveProcess(process.pid)!;
  assert.equal(me.ppid, process.ppid);
  assert.equal(me.uid, process.getuid!());
  assert.equal(me.exe, process.execPath);
  assert.equal(readLiveProcess(2 ** 30), undefined);
  const { b, byType } = harness({ readProc: true });
  b.onExchange(httpExchange(process.pid, 10, 5, { method: 'GET', path: '/x', authority: 'api.example.com' }, { status: 200 }));
  b.flush();
  const acc = d(byType('data.access')[0]);
  assert.equal(acc.workload_id.endsWith(`/${me.comm}`), true);
  assert.equal(acc.process.exe, process.execPath);
  const id = d(byType('identity.assertion')[0]);
  assert.deepEqual(id.asserted_scope, [`uid:${me.uid}`, `gid:${me.gid}`]);
});

test('relative opens are resolved against the live cwd; exchanges are wiped after use; bad input is counted and reported', () => {
  const internal: string[] = [];
  const { b, byType } = harness({ readProc: true });
  b.onInternal((e) => internal.push(`${e.stage}/${e.reason}`));
  b.onRaw(open(process.pid, 1, '.env', 40));
  b.onRaw(fdio(process.pid, 2, 40, 10, 0));
  const x = llmExchange(process.pid, 5, 5, { inputTexts: [{ role: 'user', text: 'hello' }], outputText: 'hi there' });
  const body = x.request!.body;
  x.incomplete = true;
  b.onExchange(x);
  b.onExchange({ stream: x.stream, protocol: 'http1', startNs: 0n, endNs: 0n, incomplete: false });
  b.flush();
  const env = d(byType('data.access').find((e) => d(e).resource_uri.endsWith('/.env')));
  assert.equal(env.resource_uri, `file://${process.cwd()}/.env`);
  assert.deepEqual(env.sensitivity_tags_resolved, ['secret:env_file']);
  assert.ok(body.every((v) => v === 0), 'request body zero-filled');
  assert.equal(x.llm!.outputText, '');
  const m = d(byType('model.invocation')[0]);
  assert.equal(m.outcome.status, 'UNKNOWN');
  assert.ok(byType('error').map(d).some((e) => e.error_class === 'stream_incomplete' && e.originating_event_id === m.event_id));
  assert.deepEqual(internal, ['event/exchange_empty']);
});
