/**
 * Set an own, enumerable property. Plain assignment of "__proto__" — a key JSON.parse produces as an
 * own property, and one an agent controls (tool argument names) — would set the prototype instead and
 * the key would vanish from the event.
 */
export function putOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
