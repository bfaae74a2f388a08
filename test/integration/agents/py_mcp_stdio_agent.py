"""MCP client on the real PyPI `mcp` SDK over stdio, spawning the Python MCP server below."""
import asyncio, json, os, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

async def main():
    params = StdioServerParameters(command=sys.executable, args=[os.path.join(os.path.dirname(__file__), "py_mcp_server.py")], env=dict(os.environ))
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            res = await session.call_tool("lookup_customer", {"email": os.environ.get("CANARY_EMAIL", "x@example.com"), "include_orders": True})
            text = "".join(getattr(c, "text", "") for c in res.content)
    print(json.dumps({"pid": os.getpid(), "tools": tools, "toolText": text}), flush=True)

asyncio.run(main())
