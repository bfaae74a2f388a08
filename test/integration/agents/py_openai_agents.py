"""An agent on the real PyPI `openai-agents` framework (Responses API, one function tool).
Env: MOCK_URL, PROMPT, MODEL, OPENAI_API_KEY, SSL_CERT_FILE. Prints the final output last."""
import os
from agents import Agent, Runner, function_tool, set_tracing_disabled, set_default_openai_client
from openai import AsyncOpenAI

set_tracing_disabled(True)  # no trace export to the real platform
set_default_openai_client(AsyncOpenAI(api_key=os.environ["OPENAI_API_KEY"], base_url=os.environ["MOCK_URL"] + "/v1"))


@function_tool
def read_file(file_path: str) -> str:
    """Read a text file."""
    with open(file_path) as f:
        return f.read()


agent = Agent(name="reader", instructions="Answer briefly.", model=os.environ.get("MODEL", "gpt-4.1-mini"), tools=[read_file])
result = Runner.run_sync(agent, os.environ["PROMPT"])
print(result.final_output, flush=True)
