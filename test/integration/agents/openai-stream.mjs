// One assistant message from a streamed chat completion (openai SDK chunks): text and tool calls
// reassembled from their deltas. Shared by the SDK agents.
export async function collectMessage(stream) {
  const msg = { role: 'assistant', content: '', tool_calls: [] };
  for await (const c of stream) {
    const d = c.choices[0]?.delta;
    if (!d) continue;
    if (d.content) msg.content += d.content;
    for (const tc of d.tool_calls ?? []) {
      const cur = (msg.tool_calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (tc.id) cur.id = tc.id;
      if (tc.function?.name) cur.function.name += tc.function.name;
      if (tc.function?.arguments) cur.function.arguments += tc.function.arguments;
    }
  }
  return msg;
}
