"""A fake Slack Web API and Graph API on loopback that records what the assistant sends.

``/slack/api/<method>`` answers like Slack's Web API (``{"ok": true, ...}``) and
``/graph/<path>`` like the Graph API's Send API; every request is kept in ``calls``.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit


class FakePlatforms:
    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        # Cleared, Graph API calls are recorded and then hang until it is set again (a stuck Meta API).
        self.graph_gate = threading.Event()
        self.graph_gate.set()
        platforms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "json" in (self.headers.get("Content-Type") or ""):
                    body: Any = json.loads(raw or b"{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                call = {"path": url.path, "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                        "headers": dict(self.headers), "body": body}
                with platforms._lock:
                    platforms.calls.append(call)
                if url.path.startswith("/slack/api/"):
                    reply = {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
                else:
                    platforms.graph_gate.wait(timeout=120)
                    reply = {"recipient_id": (body.get("recipient") or {}).get("id"), "message_id": f"m-{len(platforms.calls)}"}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.slack_api_url = f"{self.url}/slack/api/"
        self.graph_url = f"{self.url}/graph"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakePlatforms":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def slack_posts(self, channel: Optional[str] = None) -> List[Dict[str, Any]]:
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c["path"].endswith("/chat.postMessage") and (channel is None or c["body"].get("channel") == channel)]

    def graph_messages(self, recipient: Optional[str] = None) -> List[Dict[str, Any]]:
        """Send API messages (not sender actions like typing_on) to ``recipient``."""
        with self._lock:
            calls = list(self.calls)
        return [
            c for c in calls
            if c["path"].endswith("/me/messages") and "message" in c["body"]
            and (recipient is None or c["body"]["recipient"]["id"] == recipient)
        ]

    @staticmethod
    def wait_for(check: Callable[[], Any], timeout: float = 60, settle: float = 0.0) -> Any:
        """Poll until ``check()`` is truthy; then wait ``settle`` seconds and check again."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                if settle:
                    time.sleep(settle)
                    result = check()
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {check}")
            time.sleep(0.2)
