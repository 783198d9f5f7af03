"""A conversation that sends messages faster than a person types is told to slow down, not served.

Each customer message costs NLU time, maybe an LLM call and an action-server round trip, and a
script can send thousands. Every incoming message is checked first (``over_rate``, called from
``bot/channels/inbound.py``): when a conversation has already sent ``limit`` messages within the last
``window_s`` seconds, the message gets ``SLOW_DOWN_TEXT`` and is not run or stored (the customer
is asked to send it again). Counts live in Redis when ``REDIS_URL`` is set, so every instance sees
the same conversation's messages; otherwise in this process. Redis unreachable: the message is let
through (a limit is not worth a lost customer message). A client's retry of a message id it has
already sent within the window (the widget resending after a failed turn, Slack or Meta
redelivering) is not counted again.

``MESSAGE_RATE_LIMIT``: ``<messages>/<seconds>`` (default ``20/60``: a fast typist sends a message
every few seconds), or ``off``. Read once, when the first message arrives.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Deque, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage

from bot.channels.message_ids import current_client_message_id

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = "20/60"
SLOW_DOWN_TEXT = (
    "You're sending messages faster than I can read them. Please wait a few seconds and send your "
    "last message again."
)
REDIS_KEY_PREFIX = "brightbay:rate:"
REDIS_TIMEOUT_S = 0.5
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")


class RateLimitConfigError(ValueError):
    """MESSAGE_RATE_LIMIT is not '<messages>/<seconds>' or 'off'."""


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_s: float

    @classmethod
    def parse(cls, spec: str) -> Optional["RateLimit"]:
        """'20/60' -> RateLimit(20, 60.0); 'off' -> None."""
        if spec.strip().lower() in ("off", "0", "none", ""):
            return None
        match = _SPEC.match(spec)
        if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
            raise RateLimitConfigError(
                f"MESSAGE_RATE_LIMIT must be '<messages>/<seconds>' (e.g. 20/60) or 'off', got {spec!r}"
            )
        return cls(int(match.group(1)), float(match.group(2)))


class InProcessCounter:
    """Sliding window of message times per conversation, for one process.

    Conversations silent for a whole window are dropped when the table grows past ``max_conversations``.
    """

    def __init__(self, rate: RateLimit, max_conversations: int = 100_000) -> None:
        self._rate = rate
        self._max = max_conversations
        # per conversation: (time, message id or None) of each counted message, oldest first
        self._times: "OrderedDict[str, Deque[Tuple[float, Optional[str]]]]" = OrderedDict()
        self._lock = threading.Lock()

    async def allow(self, conversation_id: str, message_id: Optional[str] = None, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._times.pop(conversation_id, None) or deque()
            while times and times[0][0] <= now - self._rate.window_s:
                times.popleft()
            already_counted = message_id is not None and any(counted == message_id for _, counted in times)
            allowed = already_counted or len(times) < self._rate.limit
            if allowed and not already_counted:
                times.append((now, message_id))
            self._times[conversation_id] = times  # most recently active last
            while len(self._times) > self._max:
                oldest_id, oldest = next(iter(self._times.items()))
                if oldest and oldest[-1][0] > now - self._rate.window_s:
                    break
                del self._times[oldest_id]
            return allowed


_sequence = itertools.count()


class RedisCounter:
    """Sliding window in a Redis sorted set per conversation, shared by every instance."""

    def __init__(self, rate: RateLimit, url: str) -> None:
        import redis.asyncio

        self._rate = rate
        self._url = url
        self._clients: Dict[int, Any] = {}  # one client per event loop (its connections belong to that loop)
        self._redis = redis.asyncio

    def _client(self) -> Any:
        import asyncio

        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = self._redis.Redis.from_url(
                self._url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
            )
        return self._clients[loop]

    async def allow(self, conversation_id: str, message_id: Optional[str] = None, now: Optional[float] = None) -> bool:
        now = time.time() if now is None else now
        key = REDIS_KEY_PREFIX + conversation_id
        # A message id is its own member, so a retry re-adds it instead of counting twice.
        member = f"id:{message_id}" if message_id is not None else f"{now:.6f}-{os.getpid()}-{next(_sequence)}"
        try:
            async with self._client().pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now - self._rate.window_s)
                pipe.zadd(key, {member: now}, nx=True)  # nx: a retry keeps its first time
                pipe.zcard(key)
                pipe.expire(key, int(self._rate.window_s) + 1)
                _, added, count, _ = await pipe.execute()
            if count <= self._rate.limit or not added:
                return True
            await self._client().zrem(key, member)  # a refused message does not count
            return False
        except Exception as exc:  # Redis down or slow: serve the customer
            logger.warning("rate limit not checked for %s (Redis: %s): message let through", conversation_id, exc)
            return True


def counter_from_environment() -> Optional[Any]:
    """The counter MESSAGE_RATE_LIMIT and REDIS_URL ask for (None: no limit)."""
    rate = RateLimit.parse(os.environ.get("MESSAGE_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    if rate is None:
        return None
    url = os.environ.get("REDIS_URL")
    return RedisCounter(rate, url) if url else InProcessCounter(rate)


# A bad setting stops the server at start-up (channels are imported then), not at the first message.
RateLimit.parse(os.environ.get("MESSAGE_RATE_LIMIT", DEFAULT_RATE_LIMIT))

@functools.lru_cache(maxsize=None)
def _process_counter() -> Optional[Any]:
    """This process's counter, made when the first message arrives."""
    logger.info("Message rate limit: %s", os.environ.get("MESSAGE_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    return counter_from_environment()


async def over_rate(message: UserMessage) -> bool:
    """True when the message's conversation is over its rate; the customer has then been told to slow down."""
    counter = _process_counter()
    if counter is None or await counter.allow(str(message.sender_id), current_client_message_id()):
        return False
    logger.info("conversation %s is over its message rate: message not run", message.sender_id)
    await message.output_channel.send_text_message(message.sender_id, SLOW_DOWN_TEXT)
    return True
