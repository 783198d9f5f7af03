"""A scriptable fake OpenAI-compatible chat-completions server for tests.

It is a real HTTP server on 127.0.0.1 (a free port, background thread), so the
code under test goes through the real ``openai`` client and real sockets::

    with FakeOpenAI() as fake:
        fake.script('{"intent": "greet"}', Reply(status=429, headers={"Retry-After": "0"}))
        settings = LLMSettings(api_key="test", base_url=fake.base_url)
        ...
        assert fake.requests[0]["model"] == "gpt-4o-mini"

Replies are served from the scripted queue in order; once it is empty the
``default`` function answers (by default ``{"ok": true}``). Every request body
is recorded in ``requests`` (parsed JSON), with path and headers in ``log``.
Endpoints: POST /v1/chat/completions, POST /chat/completions, GET /v1/models.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Union
from collections import deque

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


class _Server(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: a burst of concurrent calls (the load benchmarks) then
    # waits for TCP's one-second SYN retry, a delay of the fake, not of the code under test.
    request_queue_size = 256


@dataclass
class Reply:
    """One scripted answer.

    ``content`` is the assistant message (a dict is JSON-encoded). A ``status``
    of 400 or more sends an OpenAI-style error body with ``error_message``
    unless ``body`` gives the exact JSON body. ``delay_s`` sleeps before
    answering (to trigger client timeouts); ``usage`` is (prompt, completion)
    tokens, else word counts are reported.
    """

    content: Union[str, Dict[str, Any], None] = '{"ok": true}'
    status: int = 200
    delay_s: float = 0.0
    headers: Dict[str, str] = field(default_factory=dict)
    usage: Optional[Tuple[int, int]] = None
    model: Optional[str] = None
    error_message: str = "scripted error"
    body: Optional[Dict[str, Any]] = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: Dict[str, str]
    body: Dict[str, Any]


ReplyLike = Union[Reply, str, Dict[str, Any]]


def _as_reply(item: ReplyLike) -> Reply:
    if isinstance(item, Reply):
        return item
    return Reply(content=item)


def prompt_text(body: Dict[str, Any]) -> str:
    """All message contents of a recorded request body, joined by newlines."""
    parts: List[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "\n".join(parts)


class FakeOpenAI:
    """The fake server; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, default: Optional[Callable[[Dict[str, Any]], ReplyLike]] = None) -> None:
        self.default: Callable[[Dict[str, Any]], ReplyLike] = default or (lambda body: Reply())
        self.log: List[RecordedRequest] = []
        self._queue: Deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> "FakeOpenAI":
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a handler sleeping on a delay must not block shutdown
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ends in /v1), for ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting and inspection --------------------------------------------------

    def script(self, *replies: ReplyLike) -> "FakeOpenAI":
        """Queue replies for the next requests, in order (str/dict = 200 with that content)."""
        with self._lock:
            self._queue.extend(_as_reply(reply) for reply in replies)
        return self

    def set_default(self, default: Callable[[Dict[str, Any]], ReplyLike]) -> None:
        """Answer requests the script does not cover with ``default(request_body)``."""
        self.default = default

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.log.clear()

    @property
    def requests(self) -> List[Dict[str, Any]]:
        """Bodies of the chat-completion requests received so far."""
        with self._lock:
            return [entry.body for entry in self.log if entry.path in CHAT_PATHS]

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        with self._lock:
            return len(self._queue)

    def wait_for_requests(self, count: int, timeout_s: float = 2.0) -> List[Dict[str, Any]]:
        """Wait until ``count`` requests arrived (requests are recorded before any delay)."""
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests

    # -- used by the handler -------------------------------------------------------

    def _record_and_pick(self, entry: RecordedRequest) -> Reply:
        with self._lock:
            self.log.append(entry)
            if self._queue:
                return self._queue.popleft()
        return _as_reply(self.default(entry.body))


def completion_body(request: Dict[str, Any], reply: Reply) -> Dict[str, Any]:
    """The OpenAI chat.completion JSON for ``reply`` to ``request``."""
    content = reply.content
    if isinstance(content, dict):
        content = json.dumps(content)
    if reply.usage is not None:
        prompt_tokens, completion_tokens = reply.usage
    else:
        prompt_tokens = len(prompt_text(request).split())
        completion_tokens = len((content or "").split())
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or request.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _handler_for(fake: FakeOpenAI) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send_json(self, status: int, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> None:
            payload = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) before the delayed reply

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            else:
                self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path not in CHAT_PATHS:
                self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                return
            entry = RecordedRequest("POST", path, {k.lower(): v for k, v in self.headers.items()}, body)
            reply = fake._record_and_pick(entry)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.status >= 400:
                error_body = reply.body or {
                    "error": {"message": reply.error_message, "type": "scripted_error", "param": None, "code": None}
                }
                self._send_json(reply.status, error_body, reply.headers)
            else:
                self._send_json(reply.status, reply.body or completion_body(body, reply), reply.headers)

    return Handler
