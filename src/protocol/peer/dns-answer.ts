import dnsPacket from 'dns-packet';

/** One address a DNS answer gave for the name the process asked about. */
export interface DnsBinding {
  name: string;
  addr: string;
  ttl: number;
}

export type DnsParse = { ok: true; bindings: DnsBinding[] } | { ok: false; reason: string };

const MAX_BINDINGS = 64;

/**
 * A/AAAA records of a DNS response (RFC 1035), bound to the question's name:
 * through a CNAME chain the process still asked for the question, which is
 * the name an investigator needs. Parsing by dns-packet (maintained, used by
 * multicast-dns and bonjour) rather than by hand; a malformed datagram gives
 * a reason, never an exception.
 */
export function parseDnsAnswer(b: Buffer): DnsParse {
  let pkt: dnsPacket.Packet;
  try {
    pkt = dnsPacket.decode(b);
  } catch {
    return { ok: false, reason: 'dns_malformed' };
  }
  if (pkt.type !== 'response') return { ok: false, reason: 'dns_not_response' };
  const question = pkt.questions?.[0]?.name;
  if (!question) return { ok: false, reason: 'dns_no_question' };
  const bindings: DnsBinding[] = [];
  for (const a of pkt.answers ?? []) {
    if ((a.type === 'A' || a.type === 'AAAA') && typeof a.data === 'string' && bindings.length < MAX_BINDINGS) {
      bindings.push({ name: question.toLowerCase(), addr: a.data, ttl: a.ttl ?? 0 });
    }
  }
  return { ok: true, bindings };
}
