/** Keys remembered per session (identity assertions are emitted once per session and credential). */
export class OncePerSession {
  private readonly seen = new Set<string>();

  /** True the first time `key` is seen in the session. */
  first(sessionId: string, key: string): boolean {
    const k = `${sessionId}|${key}`;
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }

  gc(live: ReadonlyMap<string, unknown>): void {
    for (const k of this.seen) if (!live.has(k.slice(0, k.indexOf('|')))) this.seen.delete(k);
  }
}
