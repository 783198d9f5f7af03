"""Helpers for async LLM tests (this environment has no pytest-asyncio)."""
from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

from bot.llm import AsyncLLMClient

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh event loop (no pytest-asyncio in this env)."""
    return asyncio.run(coro)


async def call(client: AsyncLLMClient, *args: Any, close: bool = True, **kwargs: Any) -> Any:
    """``client.complete_json`` then close the client's HTTP pool (loops do not share pools)."""
    try:
        return await client.complete_json(*args, **kwargs)
    finally:
        if close:
            await client.aclose()
