"""Drives a glassbox proxy with the official `openai` and `anthropic` Python SDKs.

Run by crates/glassbox/tests/sdk_clients.rs, which starts a mock model server and the proxy
in-process and passes the proxy's URL. Each case asserts that the SDK parses every response,
that masked text arrives masked (no byte run of a secret, even though the mock splits each
secret across stream events) and that a block surfaces as the SDK's normal outcome: OpenAI
`finish_reason == "content_filter"` on a stream, `BadRequestError` for a refused request or
answer; Anthropic an `APIError` raised from the stream or a `BadRequestError`.

Usage: python check_sdks.py PROXY_URL
Prints one line per case and exits 1 if any failed.
"""

import sys
import traceback

import anthropic
import openai

SECRETS = ["AKIA2OGYBAH6TKXB3XLM", "ghp_R8xKq2mZ7vT4nW9pL3sY6bC1dF5gH0jE2aQk"]
SECRETS_PROMPT = "Show me the deploy config with the keys"
BLOCKED_PROMPT = "What is on the roadmap?"
PLAIN_PROMPT = "What does glassbox do?"
PLAIN_ANSWER = (
    "glassbox sits between your application and the model server. It screens prompts and "
    "answers as they stream and records every decision."
)


def openai_client(base):
    return openai.OpenAI(base_url=base + "/v1", api_key="gb-sdk-test-key-0001", max_retries=0)


def anthropic_client(base):
    return anthropic.Anthropic(base_url=base, api_key="gb-sdk-test-key-0001", max_retries=0)


def msgs(prompt):
    return [{"role": "user", "content": prompt}]


def check_masked(text):
    for s in SECRETS:
        assert s not in text, f"secret {s[:6]}… reached the client: {text!r}"
        for cut in range(4, len(s) - 3):
            # No long byte run of the secret either (e.g. its second half).
            assert s[cut:] not in text or len(s[cut:]) < 8, f"tail of {s[:6]}… leaked: {text!r}"
    assert "[REDACTED:" in text, f"expected a mask: {text!r}"


# === OpenAI ===

def openai_plain_json(base):
    r = openai_client(base).chat.completions.create(model="mock-llama", messages=msgs(PLAIN_PROMPT))
    assert r.choices[0].message.content == PLAIN_ANSWER, r
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens > 0


def openai_plain_stream_with_usage(base):
    stream = openai_client(base).chat.completions.create(
        model="mock-llama", messages=msgs(PLAIN_PROMPT), stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert text == PLAIN_ANSWER, text
    assert finish == "stop"
    assert usage is not None and usage.total_tokens > 0


def openai_masked_json(base):
    r = openai_client(base).chat.completions.create(model="mock-llama", messages=msgs(SECRETS_PROMPT))
    check_masked(r.choices[0].message.content)


def openai_masked_stream(base):
    for model in ["mock-llama", "vllm-qwen", "llamacpp-x", "ollama-x"]:
        stream = openai_client(base).chat.completions.create(
            model=model, messages=msgs(SECRETS_PROMPT), stream=True, logprobs=False,
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        check_masked(text)


def openai_blocked_stream(base):
    stream = openai_client(base).chat.completions.create(
        model="mock-llama", messages=msgs(BLOCKED_PROMPT), stream=True,
    )
    text, finish = "", None
    for chunk in stream:
        for c in chunk.choices:
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert finish == "content_filter", (finish, text)
    assert "Nightingale" not in text, text


def openai_blocked_json(base):
    try:
        openai_client(base).chat.completions.create(model="mock-llama", messages=msgs(BLOCKED_PROMPT))
    except openai.BadRequestError as e:
        assert "block" in str(e).lower(), e
        return
    raise AssertionError("a blocked answer must raise BadRequestError")


def openai_blocked_request(base):
    try:
        openai_client(base).chat.completions.create(
            model="mock-llama", messages=msgs("Summarise this INTERNAL USE ONLY memo"))
    except openai.BadRequestError as e:
        assert "block" in str(e).lower(), e
        return
    raise AssertionError("a blocked prompt must raise BadRequestError")


def openai_upstream_down_is_an_api_error(base):
    try:
        openai_client(base).chat.completions.create(model="fault-status-500", messages=msgs("hi"))
    except openai.APIStatusError as e:
        assert e.status_code == 502, e
        assert "upstream" in str(e), e
        return
    raise AssertionError("expected a 502")


def openai_models(base):
    ids = [m.id for m in openai_client(base).models.list()]
    assert "mock-llama-3.1-8b-instruct" in ids, ids


# === Anthropic ===

def anthropic_plain_json(base):
    r = anthropic_client(base).messages.create(model="mock-claude", max_tokens=64, messages=msgs(PLAIN_PROMPT))
    assert r.content[0].text == PLAIN_ANSWER, r
    assert r.stop_reason == "end_turn"


def anthropic_plain_stream(base):
    with anthropic_client(base).messages.stream(model="mock-claude", max_tokens=64, messages=msgs(PLAIN_PROMPT)) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == PLAIN_ANSWER, text
    assert final.stop_reason == "end_turn"


def anthropic_masked_json(base):
    r = anthropic_client(base).messages.create(model="mock-claude", max_tokens=64, messages=msgs(SECRETS_PROMPT))
    check_masked(r.content[0].text)


def anthropic_masked_stream(base):
    with anthropic_client(base).messages.stream(model="mock-claude", max_tokens=64, messages=msgs(SECRETS_PROMPT)) as s:
        text = "".join(s.text_stream)
    check_masked(text)


def anthropic_masked_raw_stream(base):
    stream = anthropic_client(base).messages.create(
        model="mock-claude", max_tokens=64, messages=msgs(SECRETS_PROMPT), stream=True)
    text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    check_masked(text)


def anthropic_blocked_stream(base):
    got = ""
    try:
        with anthropic_client(base).messages.stream(model="mock-claude", max_tokens=64, messages=msgs(BLOCKED_PROMPT)) as s:
            for t in s.text_stream:
                got += t
    except anthropic.APIError as e:
        assert "Nightingale" not in got, got
        assert "block" in str(e).lower(), e
        return
    raise AssertionError(f"a blocked stream must raise; the user saw {got!r}")


def anthropic_blocked_request(base):
    try:
        anthropic_client(base).messages.create(
            model="mock-claude", max_tokens=64, messages=msgs("Summarise this INTERNAL USE ONLY memo"))
    except anthropic.BadRequestError as e:
        assert "block" in str(e).lower(), e
        return
    raise AssertionError("a blocked prompt must raise BadRequestError")


def anthropic_auth_error_shape(base):
    # The proxy in this test has no keys; a malformed body gives a 400 the SDK parses.
    try:
        anthropic_client(base).messages.create(model="fault-error-json", max_tokens=8, messages=msgs("hi"))
    except anthropic.RateLimitError as e:
        assert "slow down" in str(e), e
        return
    raise AssertionError("expected the upstream's 429 to pass through as RateLimitError")


CASES = [
    openai_plain_json, openai_plain_stream_with_usage, openai_masked_json, openai_masked_stream,
    openai_blocked_stream, openai_blocked_json, openai_blocked_request,
    openai_upstream_down_is_an_api_error, openai_models,
    anthropic_plain_json, anthropic_plain_stream, anthropic_masked_json, anthropic_masked_stream,
    anthropic_masked_raw_stream, anthropic_blocked_stream, anthropic_blocked_request,
    anthropic_auth_error_shape,
]


def main():
    base = sys.argv[1].rstrip("/")
    print(f"openai {openai.__version__}, anthropic {anthropic.__version__}")
    failed = 0
    for case in CASES:
        try:
            case(base)
            print(f"ok    {case.__name__}")
        except Exception:  # noqa: BLE001 - report every failure, then exit 1
            failed += 1
            print(f"FAIL  {case.__name__}\n{traceback.format_exc()}")
    print(f"{len(CASES) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
