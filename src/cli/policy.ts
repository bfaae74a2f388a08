import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { loadConfigFile } from '../config/load.js';
import { EventTypes, type CloudEvent } from '../contracts/envelope.js';
import { AgentrailError } from '../errors.js';
import { createPolicyStage } from '../policy/stage.js';
import { kafkaSettings, parseSource, readEvents } from '../sink/sources.js';

const HELP = `usage: agentrail policy test RULES SOURCE [options]
  RULES                 a policy rule file (YAML, docs/policy.md)
  SOURCE                a local log directory, an export file (agentrail export --out) or kafka://host:port/topic
      --json            print each decision as its policy.decision CloudEvent (one per line)
      --config FILE     policy allow lists (policy section) and Kafka TLS/SASL (sink.kafka) from this config
Replays the recorded events through RULES and prints the decisions they would
have produced; decisions already in the trail are not re-evaluated.`;

/** An export file holds one sealed event per line; anything else is a log directory or Kafka URL. */
async function* events(source: string, config: string | undefined): AsyncGenerator<CloudEvent> {
  let isFile = false;
  try {
    isFile = statSync(source).isFile();
  } catch {
    /* not a path: a Kafka URL or an error from parseSource */
  }
  if (!isFile) {
    for await (const { event } of readEvents(parseSource(source), kafkaSettings(config))) yield event;
    return;
  }
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(source), crlfDelay: Infinity })) {
    n++;
    if (!line.trim()) continue;
    try {
      yield JSON.parse(line) as CloudEvent;
    } catch {
      throw new AgentrailError('POLICY_SOURCE', `${source}:${n}: not a JSON event line`);
    }
  }
}

export const command: Command = {
  name: 'policy',
  summary: 'replay a recorded trail through policy rules and print the decisions (policy test)',
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals[0] !== 'test' || positionals.length !== 3) throw new AgentrailError('USAGE_POLICY', 'policy test needs RULES and SOURCE', { hint: 'agentrail policy --help' });
    const [, rulesFile, source] = positionals as [string, string, string];
    const policy = values.config ? loadConfigFile(values.config).policy : {};
    const stage = createPolicyStage({ config: { ...policy, rulesFile, watchRules: false }, source: 'agentrail://policy-test/replay' });
    const counts = new Map<string, number>();
    let seen = 0;
    try {
      for await (const ev of events(source, values.config)) {
        seen++;
        for (const out of stage.evaluate(ev)) {
          if (out.type !== EventTypes.policyDecision || out === ev) continue;
          const d = out.data as { decision: string; rule_fired: string | null; severity: string; evaluated_event_id: string; related_event_ids: string[]; decision_source: string };
          const key = d.rule_fired ?? d.decision_source;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          if (values.json) process.stdout.write(JSON.stringify(out) + '\n');
          else
            process.stdout.write(
              `${ev.time} ${d.decision.toUpperCase()} ${key} severity=${d.severity} on=${ev.type.replace('dev.agentrail.', '')} event=${d.evaluated_event_id}${d.related_event_ids.length ? ` related=${d.related_event_ids.join(',')}` : ''}\n`,
            );
        }
      }
    } finally {
      stage.close();
    }
    const summary = [...counts].map(([k, v]) => `${k}=${v}`).join(' ');
    process.stderr.write(`policy test: ${seen} events, ${[...counts.values()].reduce((a, b) => a + b, 0)} decisions${summary ? ` (${summary})` : ''}\n`);
    return 0;
  },
};
