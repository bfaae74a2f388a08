"""A real MCP server over stdio on the PyPI `mcp` SDK (MCPServer)."""
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("agentrail-py-mcp")

@mcp.tool()
def lookup_customer(email: str, include_orders: bool = False) -> str:
    """Look up a customer by email."""
    return "customer record found"

if __name__ == "__main__":
    mcp.run()
