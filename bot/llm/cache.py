"""Verdict caches for LLM results: in-process LRU+TTL, or Redis shared by workers."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, Mapping, Optional, Protocol, Sequence, Tuple, runtime_checkable

logger = logging.getLogger(__name__)

_WHITESPACE_RE = re.compile(r"\s+")


@runtime_checkable
class VerdictCache(Protocol):
    """Stores JSON-serialisable dicts under string keys for a limited time."""

    def get(self, key: str) -> Optional[Dict[str, Any]]: ...

    def set(self, key: str, value: Dict[str, Any], ttl_s: float) -> None: ...


def _normalise(text: str) -> str:
    return _WHITESPACE_RE.sub(" ", text).strip().lower()


def cache_key(model: str, messages: Sequence[Mapping[str, Any]]) -> str:
    """sha256 over the model and the normalised (already redacted) messages."""
    parts = [model]
    for message in messages:
        parts.append(f"{message.get('role', '')}:{_normalise(str(message.get('content') or ''))}")
    # The unit separator cannot occur in normalised text, so distinct message lists never collide.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class InMemoryCache:
    """A bounded, thread-safe LRU cache whose entries expire after their TTL."""

    def __init__(self, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: "OrderedDict[str, Tuple[float, str]]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, payload = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        # Stored as JSON so callers can never mutate a cached value in place.
        return json.loads(payload)

    def set(self, key: str, value: Dict[str, Any], ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        payload = json.dumps(value)
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, payload)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class RedisCache:
    """A cache in Redis (JSON values); any Redis error is a cache miss, logged once."""

    def __init__(
        self,
        url: str,
        prefix: str = "brightbay:llm:",
        *,
        timeout_s: float = 0.25,
        retry_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis  # imported here so the in-memory cache works without redis installed

        self.prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._warned = False

    def _available(self) -> bool:
        # Calls are synchronous; while Redis is down we skip it instead of blocking every turn on a timeout.
        return self._clock() >= self._down_until

    def _failed(self, action: str, exc: Exception) -> None:
        self._down_until = self._clock() + self._retry_after_s
        if not self._warned:
            self._warned = True
            logger.warning("LLM cache: Redis %s failed (%s); continuing without the cache", action, exc)

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        if not self._available():
            return None
        try:
            raw = self._client.get(self.prefix + key)
        except Exception as exc:  # redis errors must never break a conversation
            self._failed("get", exc)
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: Dict[str, Any], ttl_s: float) -> None:
        if ttl_s <= 0 or not self._available():
            return
        try:
            self._client.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl_s * 1000)))
        except Exception as exc:
            self._failed("set", exc)


def make_cache(redis_url: Optional[str]) -> VerdictCache:
    """A ``RedisCache`` when a URL is given, else an ``InMemoryCache``."""
    if redis_url:
        return RedisCache(redis_url)
    return InMemoryCache()
