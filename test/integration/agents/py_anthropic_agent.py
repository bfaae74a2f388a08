"""Agent on the real PyPI `anthropic` SDK (streaming). Env: MOCK_URL, PROMPT, SSL_CERT_FILE."""
import json, os
import anthropic

client = anthropic.Anthropic(api_key=os.environ.get("ANTHROPIC_API_KEY", "sk-ant-test"), base_url=os.environ["MOCK_URL"], max_retries=2)
with client.messages.stream(model=os.environ.get("MODEL", "claude-haiku-4-5"), max_tokens=256, messages=[{"role": "user", "content": os.environ.get("PROMPT", "Hello")}]) as s:
    msg = s.get_final_message()
text = "".join(b.text for b in msg.content if b.type == "text")
print(json.dumps({"pid": os.getpid(), "outputs": [text]}), flush=True)
