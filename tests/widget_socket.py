"""Test clients for the website widget's transport: a socket.io client speaking the widget's events,
and a TCP proxy whose connections can be cut, like a customer's network dropping."""
from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Set


class WidgetSocket:
    """A socket.io client with the widget's events (python-socketio, real transports)."""

    def __init__(self, url: str, transports: List[str], session_id: Optional[str] = None) -> None:
        import socketio

        self.session_id = session_id or uuid.uuid4().hex
        self.replies: List[Dict[str, Any]] = []
        self._confirmed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("session_confirm", lambda _: self._confirmed.set())
        self.client.on("bot_uttered", lambda data: self.replies.append(data))
        self.client.connect(url, socketio_path="/socket.io", transports=transports, wait_timeout=30)
        self.client.emit("session_request", {"session_id": self.session_id})
        assert self._confirmed.wait(30), "no session_confirm"

    def say(self, text: str, message_id: Optional[str] = None) -> None:
        self.client.emit("user_uttered", self._data(text, message_id))

    def ask(self, text: str, message_id: Optional[str] = None, timeout: float = 90) -> Any:
        """Sends and waits for the server's acknowledgement (given when the turn is done)."""
        return self.client.call("user_uttered", self._data(text, message_id), timeout=timeout)

    def _data(self, text: str, message_id: Optional[str]) -> Dict[str, Any]:
        return {"message": text, "session_id": self.session_id, **({"message_id": message_id} if message_id else {})}

    def texts(self) -> List[str]:
        return [r.get("text", "") for r in list(self.replies)]

    def wait_for_text(self, needle: str, timeout: float = 90) -> List[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in t for t in self.texts()):
                return self.texts()
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not received on the socket; got {self.texts()}")

    def close(self) -> None:
        self.client.disconnect()


class CuttableProxy:
    """A TCP proxy on loopback to ``target_port``; ``cut()`` drops every connection and refuses new
    ones until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._open = True
        self._closed = False
        self._sockets: Set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self._open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        self._open = False
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            self._close(s)

    def restore(self) -> None:
        self._open = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()

    def __enter__(self) -> "CuttableProxy":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
