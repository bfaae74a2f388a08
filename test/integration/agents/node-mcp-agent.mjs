// MCP client on the real npm `@modelcontextprotocol/sdk`: streamable HTTP to
// MOCK_URL/mcp, or stdio to a spawned server when MCP_STDIO is set (a command line).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const client = new Client({ name: 'agentrail-test-agent', version: '0.3.1' });
const transport = process.env.MCP_STDIO
  ? new StdioClientTransport({ command: process.env.MCP_STDIO.split(' ')[0], args: process.env.MCP_STDIO.split(' ').slice(1), env: { ...process.env } })
  : new StreamableHTTPClientTransport(new URL(`${process.env.MOCK_URL}/mcp`));
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
const res = await client.callTool({ name: 'lookup_customer', arguments: { email: process.env.CANARY_EMAIL ?? 'someone@example.com', include_orders: true } });
const text = res.content.map((c) => c.text ?? '').join('');
await client.close();
process.stdout.write(JSON.stringify({ pid: process.pid, tools, toolText: text }) + '\n');
