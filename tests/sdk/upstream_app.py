"""A small OpenAI-compatible model server as an ASGI app, run under uvicorn (the server vLLM
runs on) by crates/glassbox/tests/uvicorn_upstream.rs, so the proxy is tested against a real
HTTP server implementation (h11 and httptools) rather than only its own mock.

Routes:
- GET /v1/models: a model list;
- POST /v1/chat/completions: an answer holding an AWS access key id, as one JSON body or, with
  "stream": true, as SSE chunks (uvicorn sends them with chunked transfer encoding) that split
  the key across two events.

Every answer carries `x-seen-host` (the Host header uvicorn received) and `x-seen-target` (the
request target), so the test can check what reached the server.
"""

import json

MODEL = "uvicorn-llama"
KEY = "AKIA2OGYBAH6TKXB3XLM"
PIECES = ["Here is the config:\n", "AWS_ACCESS_KEY_ID=AKIA2OGY", "BAH6TKXB3XLM", "\nRotate it."]


async def read_body(receive):
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body", False):
            return body


def seen(scope):
    headers = dict(scope["headers"])
    target = scope.get("raw_path", b"").decode("latin-1")
    return [
        (b"x-seen-host", headers.get(b"host", b"(none)")),
        (b"x-seen-target", target.encode("latin-1")),
    ]


async def send_json(send, scope, status, value):
    body = json.dumps(value).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json")] + seen(scope),
    })
    await send({"type": "http.response.body", "body": body})


def chunk(text, finish=None):
    return {
        "id": "chatcmpl-uv1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": text} if text else {},
                     "finish_reason": finish}],
    }


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = await read_body(receive)
    path, method = scope["path"], scope["method"]
    if method == "GET" and path == "/v1/models":
        await send_json(send, scope, 200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        return
    if method != "POST" or path != "/v1/chat/completions":
        await send_json(send, scope, 404, {"error": {"message": f"no route {method} {path}"}})
        return
    req = json.loads(body)
    if not req.get("stream"):
        await send_json(send, scope, 200, {
            "id": "chatcmpl-uv1", "object": "chat.completion", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "".join(PIECES)}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17},
        })
        return
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/event-stream")] + seen(scope),
    })
    events = [chunk(p) for p in PIECES] + [chunk("", "stop")]
    for e in events:
        data = f"data: {json.dumps(e)}\n\n".encode()
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
