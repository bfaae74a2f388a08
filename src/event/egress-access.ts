import type { Classifier } from '../classify/classifier.js';
import { plaintextLevel, type Connection, type NameSource, type Plaintext } from '../correlate/connections.js';
import { connectionUri } from '../redact/uri.js';
import type { DataAccessFields } from '../contracts/agent-fields.js';

/** The `network` object of an egress data.access (docs/events.md). */
export interface NetworkFields {
  transport: 'tcp' | 'udp' | 'other';
  remote_addr: string;
  remote_port: number;
  server_name: string | null;
  name_source: NameSource;
  alpn: string[];
  first_bytes: 'tls' | 'http' | 'unknown' | null;
  /** How much of the connection's plaintext the sensor saw: none (floor only), partial (cut), full. */
  plaintext: Plaintext;
  plaintext_bytes: number;
  duration_ms: number;
}

export type EgressAccessFields = DataAccessFields & { network: NetworkFields };

function schemeOf(c: Connection): string {
  if (c.port === 53 && c.transport !== 'tcp') return 'dns';
  if (c.firstBytes === 'tls') return 'tls';
  if (c.firstBytes === 'http') return 'http';
  return c.transport === 'udp' ? 'udp' : 'tcp';
}

/** One finished connection → the fields of its egress data.access. */
export function egressAccessFields(c: Connection, cls: Classifier): EgressAccessFields {
  const host = c.serverName ?? c.addr;
  const uri = connectionUri(schemeOf(c), host, c.port, cls);
  return {
    resource_uri: uri,
    access_mode: 'connect',
    row_count: null,
    byte_count: Number(c.sent + c.received),
    sensitivity_tags_resolved: [],
    triggering_event_id: null,
    resource_type: 'socket',
    bytes_read: Number(c.received),
    bytes_written: Number(c.sent),
    content_hash: null,
    network: {
      transport: c.transport,
      remote_addr: c.addr,
      remote_port: c.port,
      server_name: c.serverName,
      name_source: c.nameSource,
      alpn: c.alpn,
      first_bytes: c.firstBytes,
      plaintext: plaintextLevel(c),
      plaintext_bytes: c.plaintextBytes,
      duration_ms: Math.max(0, Number((c.closeNs - c.openNs) / 1_000_000n)),
    },
  };
}
