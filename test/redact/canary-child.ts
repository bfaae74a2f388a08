/**
 * Child process of the canary test: runs the event stage over a session with
 * planted secrets (argv[2] = JSON of the canaries), with trace-level pino
 * logging on stderr; prints the events (JSON lines) then the metrics text on stdout.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../../src/classify/classifier.js';
import { RuleStore } from '../../src/classify/rules.js';
import { EventBuilder } from '../../src/event/event-builder.js';
import { registry } from '../../src/observability/metrics.js';
import { exec, httpExchange, llmExchange, mcpExchange, referenceSession, EPOCH_NS } from '../event/scenario.js';

const c = JSON.parse(process.argv[2]!) as { email: string; pan: string; ssn: string; openai: string; aws: string; pem: string };
const dir = mkdtempSync(join(tmpdir(), 'agentrail-canary-'));
const rules = join(dir, 'rules.yaml');
writeFileSync(rules, 'paths:\n  - glob: "/srv/db/**"\n    tags: ["PII:customer_db"]\n');
const store = new RuleStore(rules);
const b = new EventBuilder({ source: 'agentrail://canary/0', classifier: new Classifier(store), toWallNs: (k) => EPOCH_NS + k });
const out: string[] = [];
b.onEvent((e) => out.push(JSON.stringify(e)));

const prompt = `My email is ${c.email}, card ${c.pan}, SSN ${c.ssn}. Use key ${c.openai}.`;
const arg = `${c.aws} ${c.email}`;
const fileText = `name,email,card\nx,${c.email},${c.pan}\n${c.pem}`;
referenceSession(b, { prompt, arg, fileText, key: c.openai, toolResult: fileText });

b.onRaw(exec(800, 1, 1, '/usr/bin/python3', ['python3', 'agent.py']));
// An API that returns customer data; a query value carrying a secret.
b.onExchange(httpExchange(800, 10, 5, { method: 'POST', path: `/v1/export?api_key=${c.openai}`, authority: 'crm.example.com', headers: [['x-api-key', c.openai]], body: `{"q":"${c.email}"}` }, { status: 500, body: `{"error":"no user ${c.email}"}` }));
b.onExchange(mcpExchange(800, 20, 5, { method: 'resources/read', resourceUri: `file:///srv/db/${c.email}.json`, resultText: fileText }));
b.onExchange(mcpExchange(800, 30, 5, { method: 'tools/call', toolName: 'send_mail', arguments: { to: c.email, body: prompt }, error: { code: -32000, message: `cannot send to ${c.email}` } }));
// An exchange whose processing throws with a message quoting the secret: counted, not leaked.
const bomb = llmExchange(800, 40, 5, { inputTexts: [{ role: 'user', text: prompt }] });
Object.defineProperty(bomb.llm!, 'outputText', {
  get(): string {
    throw new Error(`boom ${c.openai}`);
  },
  set(): void {},
});
b.onExchange(bomb);
b.flush();
b.close();
store.close();
process.stdout.write(out.join('\n') + '\n');
process.stdout.write(await registry.metrics());
