import { wipeExchange, type Exchange } from '../contracts/exchange.js';

/**
 * After an exchange's events are built: zero-fill every payload buffer
 * (`wipeExchange`) and drop the references to plaintext strings, so that
 * nothing in the sensor keeps them reachable. JavaScript strings are immutable
 * and cannot be overwritten in place; dropping the last reference is what the
 * runtime allows, the garbage collector frees them.
 */
export function wipeAll(x: Exchange): void {
  wipeExchange(x);
  for (const m of [x.request, x.response]) {
    if (!m) continue;
    for (const h of m.headers) h[1] = '';
    if (m.sse) m.sse.length = 0;
    if (m.path !== undefined) m.path = '';
  }
  if (x.llm) {
    x.llm.inputTexts = [];
    x.llm.outputText = '';
    for (const t of x.llm.toolsRequested) t.arguments = undefined;
    x.llm.toolResults = [];
  }
  if (x.mcp) {
    x.mcp.params = undefined;
    x.mcp.arguments = undefined;
    x.mcp.result = undefined;
    x.mcp.resultText = undefined;
    if (x.mcp.error) x.mcp.error.message = '';
  }
}
