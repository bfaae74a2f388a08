/** Polls `fn` every 50 ms until it returns a value (or throws), failing after `ms`. */
export function waitFor<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      try {
        const v = fn();
        if (v !== undefined) return resolve(v);
      } catch (e) {
        return reject(e as Error);
      }
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

/** waitFor for an async probe (a metrics scrape): polls every 100 ms until it resolves to a value. */
export async function waitForAsync<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
