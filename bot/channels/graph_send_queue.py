"""Messenger Send API calls off the event loop, in order per customer, with a timeout.

fbmessenger's client (used by Rasa's ``MessengerBot``) posts with ``requests`` and no timeout,
from inside Rasa's async output methods: every reply, ``mark_seen`` and ``typing_on`` held the
whole server's event loop (every conversation on every channel) for a Graph API round trip, and
forever when the Graph API hung. ``GraphSendQueue.submit`` returns at once; worker threads post
the calls, each customer's calls on one worker so they arrive in the order they were sent.

Retries: a refused connection, HTTP 429 or 5xx is retried with backoff (the message was not
taken); a timeout is not, as Meta may have delivered it and the Send API has no idempotency key.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from typing import Any, Dict, List, Optional, Text, Tuple

import requests

logger = logging.getLogger(__name__)

Call = Tuple[Text, Dict[Text, Any], Dict[Text, Any]]  # url, query parameters (token), JSON body


class GraphSendQueue:
    """Posts Send API calls on ``workers`` threads; calls of one recipient keep their order."""

    def __init__(self, timeout_s: float = 10.0, retries: int = 2, workers: int = 4, backoff_s: float = 0.5) -> None:
        if timeout_s <= 0 or retries < 0 or workers < 1:
            raise ValueError(f"GraphSendQueue needs timeout_s > 0, retries >= 0, workers >= 1; got {timeout_s}, {retries}, {workers}")
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._queues: List["queue.Queue[Optional[Call]]"] = [queue.Queue() for _ in range(workers)]
        self._threads: List[threading.Thread] = []
        self._start_lock = threading.Lock()

    def submit(self, recipient_id: Text, url: Text, params: Dict[Text, Any], body: Dict[Text, Any]) -> None:
        """Queues one call; returns at once."""
        self._start()
        index = zlib.crc32(str(recipient_id).encode()) % len(self._queues)
        self._queues[index].put((url, params, body))

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Waits until every queued call was posted (or given up); True if it happened in time."""
        deadline = time.monotonic() + timeout_s
        while any(q.unfinished_tasks for q in self._queues):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _start(self) -> None:
        if self._threads:
            return
        with self._start_lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._work, args=(q,), name=f"graph-send-{n}", daemon=True)
                    for n, q in enumerate(self._queues)
                ]
                for thread in self._threads:
                    thread.start()

    def _work(self, calls: "queue.Queue[Optional[Call]]") -> None:
        session = requests.Session()  # one per worker thread: requests' sessions are not thread-safe
        while True:
            call = calls.get()
            try:
                if call is None:
                    return
                self._post(session, *call)
            except Exception:  # never let one bad call stop the worker
                logger.exception("Send API call failed")
            finally:
                calls.task_done()

    def _post(self, session: requests.Session, url: Text, params: Dict[Text, Any], body: Dict[Text, Any]) -> None:
        what = body.get("sender_action") or "message"
        for attempt in range(self.retries + 1):
            try:
                response = session.post(url, params=params, json=body, timeout=self.timeout_s)
            except requests.Timeout:
                logger.warning("Send API %s: no answer in %.0f s; not retried (it may have been delivered)", what, self.timeout_s)
                return
            except requests.ConnectionError as error:
                status, detail = None, type(error).__name__
            else:
                if response.status_code < 400:
                    return
                status, detail = response.status_code, response.text[:200]
                if status != 429 and status < 500:
                    logger.error("Send API refused a %s: HTTP %s %s", what, status, detail)
                    return
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2 ** attempt)
        logger.error("Send API %s failed after %d tries: %s %s", what, self.retries + 1, status, detail)
