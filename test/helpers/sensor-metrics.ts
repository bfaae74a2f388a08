import { waitForAsync } from './wait-for.js';

/**
 * Waits on the sensor's own counter until `n` events of `type` (e.g. `model.invocation`) were sealed;
 * returns the /metrics text then. On timeout the error carries the event, drop and error counters.
 */
export async function waitForSealed(healthPort: number, type: string, n: number, ms = 120_000): Promise<string> {
  const url = `http://127.0.0.1:${healthPort}/metrics`;
  const re = new RegExp(`agentrail_events_total\\{type="dev\\.agentrail\\.${type.replace(/\./g, '\\.')}"\\} (\\d+)`);
  return waitForAsync(`${n} ${type} events`, async () => {
    const m = await (await fetch(url)).text();
    return Number(re.exec(m)?.[1] ?? 0) >= n ? m : undefined;
  }, ms).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${(await (await fetch(url)).text()).split('\n').filter((l) => /events_total|dropped_total|stage_errors/.test(l)).join('\n')}`);
  });
}
