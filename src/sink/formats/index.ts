import type { CloudEvent } from '../../contracts/envelope.js';
import { AgentrailError } from '../../errors.js';
import { toEcs } from './ecs.js';
import { toOcsf } from './ocsf.js';
import { toSplunkHec } from './splunk-hec.js';

/** The output formats of export and the Kafka topics; one mapper per format, all from the sealed event. */
export const FORMATS = ['cloudevents', 'ocsf', 'ecs', 'splunk-hec'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(s: string): Format {
  if ((FORMATS as readonly string[]).includes(s)) return s as Format;
  throw new AgentrailError('FORMAT_UNKNOWN', `unknown format "${s}"`, { hint: `use one of: ${FORMATS.join(', ')}` });
}

/** null for cloudevents: the caller keeps the sealed line byte for byte. */
export function mapperFor(f: Format): ((ev: CloudEvent) => Record<string, unknown>) | null {
  switch (f) {
    case 'ocsf':
      return toOcsf;
    case 'ecs':
      return toEcs;
    case 'splunk-hec':
      return (ev) => toSplunkHec(ev);
    case 'cloudevents':
      return null;
  }
}
