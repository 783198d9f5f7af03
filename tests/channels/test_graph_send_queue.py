"""bot.channels.graph_send_queue against a scripted HTTP server on loopback."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest

from bot.channels.graph_send_queue import GraphSendQueue


class ScriptedGraph:
    """Answers each POST with the next scripted status (200 once the script is used up), after `delay_s`."""

    def __init__(self) -> None:
        self.statuses: List[int] = []
        self.delay_s = 0.0
        self.bodies: List[Dict[str, Any]] = []
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                graph.bodies.append(body)
                status = graph.statuses.pop(0) if graph.statuses else 200
                time.sleep(graph.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/me/messages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def graph() -> Iterator[ScriptedGraph]:
    fake = ScriptedGraph()
    yield fake
    fake.server.shutdown()


def message(n: int) -> Dict[str, Any]:
    return {"recipient": {"id": "psid-1"}, "message": {"text": f"part {n}"}}


def test_calls_of_one_customer_arrive_in_order_and_submit_does_not_wait(graph: ScriptedGraph) -> None:
    graph.delay_s = 0.2
    send_queue = GraphSendQueue(timeout_s=5, workers=3)
    started = time.monotonic()
    for n in range(5):
        send_queue.submit("psid-1", graph.url, {"access_token": "t"}, message(n))
    assert time.monotonic() - started < 0.2  # five calls of 0.2 s each were queued, none waited for
    assert send_queue.drain(10)
    assert [b["message"]["text"] for b in graph.bodies] == [f"part {n}" for n in range(5)]


def test_429_and_5xx_are_retried_4xx_and_timeouts_are_not(graph: ScriptedGraph) -> None:
    send_queue = GraphSendQueue(timeout_s=1, retries=2, workers=1, backoff_s=0.01)
    graph.statuses = [429, 503]
    send_queue.submit("psid-1", graph.url, {}, message(1))
    assert send_queue.drain(10)
    assert len(graph.bodies) == 3  # two refusals, then taken

    graph.bodies.clear()
    graph.statuses = [500, 500, 500, 500]
    send_queue.submit("psid-1", graph.url, {}, message(2))
    assert send_queue.drain(10)
    assert len(graph.bodies) == 3  # gave up after 1 + 2 retries

    graph.bodies.clear()
    graph.statuses = [400]
    send_queue.submit("psid-1", graph.url, {}, message(3))
    assert send_queue.drain(10)
    assert len(graph.bodies) == 1  # a refused message is not sent again

    graph.bodies.clear()
    graph.statuses = []
    graph.delay_s = 2.0
    send_queue.submit("psid-1", graph.url, {}, message(4))
    send_queue.submit("psid-1", graph.url, {}, message(5))
    assert send_queue.drain(15)
    # The first timed out (it may have been delivered: not sent again); the next one still went.
    assert [b["message"]["text"] for b in graph.bodies] == ["part 4", "part 5"]


def test_a_refused_connection_is_given_up_and_the_worker_goes_on(graph: ScriptedGraph) -> None:
    send_queue = GraphSendQueue(timeout_s=1, retries=1, workers=1, backoff_s=0.01)
    send_queue.submit("psid-1", "http://127.0.0.1:9/me/messages", {}, message(1))  # port 9: nothing listens
    send_queue.submit("psid-1", graph.url, {}, message(2))
    assert send_queue.drain(10)
    assert [b["message"]["text"] for b in graph.bodies] == ["part 2"]


def test_bad_settings_are_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match="got 0"):
        GraphSendQueue(timeout_s=0)
