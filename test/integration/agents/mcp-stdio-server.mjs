// A real MCP server over stdio (npm @modelcontextprotocol/sdk) with one tool.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'agentrail-stdio-mcp', version: '2.0.1' });
server.registerTool('lookup_customer', { description: 'Look up a customer', inputSchema: { email: z.string(), include_orders: z.boolean().optional() } }, async () => ({
  content: [{ type: 'text', text: 'customer record found' }],
}));
await server.connect(new StdioServerTransport());
