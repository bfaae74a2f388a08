"""Tool-using agent on the real PyPI `openai` SDK. Env: MOCK_URL, PROMPT, SSL_CERT_FILE."""
import json, os
import openai

client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-test"), base_url=os.environ["MOCK_URL"] + "/v1", max_retries=2)
tools = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "max_bytes": {"type": "integer"}, "note": {"type": "string"}}, "required": ["path"]}}}]
messages = [{"role": "user", "content": os.environ.get("PROMPT", "Summarize the report file.")}]
outputs = []
for _ in range(3):
    m = client.chat.completions.create(model=os.environ.get("MODEL", "gpt-4o-mini"), messages=messages, tools=tools).choices[0].message
    outputs.append(m.content or "")
    if not m.tool_calls:
        break
    messages.append({"role": "assistant", "content": m.content, "tool_calls": [tc.model_dump() for tc in m.tool_calls]})
    for tc in m.tool_calls:
        args = json.loads(tc.function.arguments)
        with open(args["path"]) as f:
            messages.append({"role": "tool", "tool_call_id": tc.id, "content": f.read()})
print(json.dumps({"pid": os.getpid(), "outputs": outputs}), flush=True)
