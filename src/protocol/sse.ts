import type { SseEvent } from '../contracts/exchange.js';

/**
 * Incremental text/event-stream parser following the WHATWG HTML "event
 * stream interpretation": UTF-8 decoding, a leading BOM dropped, lines ended by
 * CRLF, LF or CR, `:` comments, fields event/data/id/retry, one optional space
 * after the colon, events dispatched on a blank line, data lines joined by LF,
 * events with empty data not dispatched, the last event id carried over.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private line = '';
  private pendingCR = false;
  private first = true;
  private data: string[] = [];
  private hasData = false;
  private eventType = '';
  private lastId: string | undefined;
  dropped = 0;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly maxLineChars = 16 * 1024 * 1024,
  ) {}

  push(chunk: Uint8Array): void {
    this.text(this.decoder.decode(chunk, { stream: true }));
  }

  /** End of stream: an unterminated event is discarded, as the spec says. */
  end(): void {
    this.text(this.decoder.decode());
  }

  private text(s: string): void {
    if (this.first && s.length > 0) {
      this.first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 10 || c === 13) {
        if (c === 10 && this.pendingCR && i === start && this.line === '') {
          // LF of a CRLF split across the previous CR.
          this.pendingCR = false;
          start = i + 1;
          continue;
        }
        this.pendingCR = c === 13;
        this.lineDone(this.line + s.slice(start, i));
        this.line = '';
        start = i + 1;
        if (c === 13 && s.charCodeAt(i + 1) === 10) {
          i++;
          start = i + 1;
          this.pendingCR = false;
        }
      } else this.pendingCR = false;
    }
    if (start < s.length) {
      this.line += s.slice(start);
      if (this.line.length > this.maxLineChars) {
        this.dropped++;
        this.line = '';
      }
    }
  }

  private lineDone(line: string): void {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        // `retry` and unknown fields carry nothing the audit needs.
        break;
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.eventType = '';
      return;
    }
    const ev: SseEvent = { data: this.data.join('\n') };
    if (this.eventType !== '') ev.event = this.eventType;
    if (this.lastId !== undefined) ev.id = this.lastId;
    this.data = [];
    this.hasData = false;
    this.eventType = '';
    this.onEvent(ev);
  }
}

/** Parse a complete SSE body. */
export function parseSse(body: Uint8Array, maxEvents = Infinity): { events: SseEvent[]; dropped: number } {
  const events: SseEvent[] = [];
  let dropped = 0;
  const p = new SseParser((e) => {
    if (events.length < maxEvents) events.push(e);
    else dropped++;
  });
  p.push(body);
  p.end();
  return { events, dropped: dropped + p.dropped };
}
