"""Runs the async LLM client from synchronous code on a background event loop.

Rasa calls NLU components synchronously. The LLM client is async and keeps a
connection pool bound to one event loop, so it lives on a dedicated loop in a
daemon thread; any thread can submit a coroutine and wait for its result.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, Optional, TypeVar

from bot.llm.errors import LLMTimeout

T = TypeVar("T")


class BackgroundLoop:
    """An event loop in a daemon thread, started on first use."""

    def __init__(self, name: str = "llm-loop") -> None:
        self._name = name
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, make_coroutine: Callable[[], Awaitable[T]], timeout_s: float) -> T:
        """Run the coroutine on the loop and wait at most `timeout_s` for it."""
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(_call(make_coroutine), loop)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise LLMTimeout(f"no answer within {timeout_s:.1f}s") from exc

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None


async def _call(make_coroutine: Callable[[], Awaitable[Any]]) -> Any:
    return await make_coroutine()
