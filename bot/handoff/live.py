"""Real-time plumbing of the live-agent channel, inside the Rasa server process.

- ``LiveHub``: per-conversation pub/sub feeding the agents' server-sent-event streams
  (``RedisLiveHub`` over Redis pub/sub when ``REDIS_URL`` is set, so every Rasa instance's
  agents see every instance's customers).
- ``LiveAgentEventBroker``: a Rasa event broker (``endpoints.yml: event_broker``) that
  gets every tracker event as it is saved and publishes customer and bot messages to the
  hub, so a paused conversation's new customer message reaches the claiming agent at once.
- ``CustomerOutbox``: agent (and hand-back) messages for customers whose channel cannot be
  pushed to (Rasa's REST channel is request/response); they poll
  ``GET /webhooks/live_agent/customer/<sender>/messages?after=<id>``. A Redis list when
  ``REDIS_URL`` is set (shared by every Rasa instance), in-process otherwise.
- ``rendered_response`` and ``record_bot_back``: the assistant's first message when a paused
  conversation is its own again (an agent's hand-back, a customer leaving the queue).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Set, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.shared.core.constants import ACTION_LISTEN_NAME, EXTERNAL_MESSAGE_PREFIX
from rasa.shared.core.events import (ActionExecuted, BotUttered, ConversationPaused, ConversationResumed, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.parsing import IDENTITY_SLOT, ORDER_ID_SLOT, order_values_in

logger = logging.getLogger(__name__)

OUTBOX_KEY = "brightbay:outbox:{sender}"
OUTBOX_TTL_S = 24 * 3600
OUTBOX_MAX = 500


class LiveHub:
    """In-process publish/subscribe of conversation events, one asyncio.Queue per listener."""

    def __init__(self) -> None:
        self._listeners: Dict[str, Set[asyncio.Queue]] = {}
        self._lock = threading.Lock()

    def subscribe(self, conversation_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._listeners.setdefault(conversation_id, set()).add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue) -> None:
        with self._lock:
            listeners = self._listeners.get(conversation_id)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self._listeners[conversation_id]

    def listeners(self, conversation_id: str) -> int:
        with self._lock:
            return len(self._listeners.get(conversation_id, ()))

    def publish(self, conversation_id: str, message: Dict[str, Any]) -> None:
        with self._lock:
            queues = list(self._listeners.get(conversation_id, ()))
        for queue in queues:
            try:
                loop = getattr(queue, "_loop", None)
                if loop is not None and loop.is_running() and not _in_loop(loop):
                    loop.call_soon_threadsafe(queue.put_nowait, message)
                else:
                    queue.put_nowait(message)
            except asyncio.QueueFull:
                logger.warning("live-agent listener of %s is not reading; message dropped", conversation_id)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class RedisLiveHub(LiveHub):
    """The same interface over Redis pub/sub, so an agent connected to one Rasa instance sees
    customer messages handled by another (used when ``REDIS_URL`` is set)."""

    CHANNEL = "brightbay:live:{conversation}"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._tasks: Dict[int, "asyncio.Task[None]"] = {}

    def subscribe(self, conversation_id: str) -> asyncio.Queue:
        queue = super().subscribe(conversation_id)
        subscribed = asyncio.Event()
        self._tasks[id(queue)] = asyncio.get_running_loop().create_task(
            self._relay(conversation_id, queue, subscribed)
        )
        queue.subscribed = subscribed  # type: ignore[attr-defined]  # set once Redis confirmed
        return queue

    async def _relay(self, conversation_id: str, queue: asyncio.Queue, subscribed: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.CHANNEL.format(conversation=conversation_id))
            subscribed.set()
            while True:
                item = await pubsub.get_message(timeout=1.0)
                if item and item.get("type") == "message":
                    queue.put_nowait(json.loads(item["data"]))
        finally:
            await pubsub.close()
            await client.close()

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue) -> None:
        super().unsubscribe(conversation_id, queue)
        task = self._tasks.pop(id(queue), None)
        if task is not None:
            task.cancel()

    def listeners(self, conversation_id: str) -> int:
        return 1  # listeners may be on other instances: always publish

    def publish(self, conversation_id: str, message: Dict[str, Any]) -> None:
        try:
            self._redis.publish(self.CHANNEL.format(conversation=conversation_id), json.dumps(message))
        except Exception:
            logger.exception("could not publish a live message of %s to Redis", conversation_id)


def make_hub(redis_url: Optional[str] = None) -> LiveHub:
    url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
    return RedisLiveHub(url) if url else LiveHub()


HUB = make_hub()


def live_message(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The transcript line for a tracker event dict, or None for events agents don't see."""
    kind = event.get("event")
    if kind == "user":
        return {"type": "customer", "text": event.get("text") or "", "timestamp": event.get("timestamp")}
    if kind == "bot":
        metadata = event.get("metadata") or {}
        agent = metadata.get("live_agent")
        return {
            "type": "agent" if agent else "bot",
            "agent": agent,
            "text": event.get("text") or "",
            "timestamp": event.get("timestamp"),
        }
    if kind in ("pause", "resume"):
        return {"type": "status", "text": "handed to an agent" if kind == "pause" else "handed back to the assistant",
                "timestamp": event.get("timestamp")}
    return None


class LiveAgentEventBroker(EventBroker):
    """Publishes customer/bot messages of every saved tracker to the in-process hub."""

    def __init__(self, hub: LiveHub = HUB, forward: Optional[EventBroker] = None) -> None:
        self.hub = hub
        self.forward = forward  # the deployment's own broker (EVENT_BROKER_URL), if any

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[asyncio.AbstractEventLoop] = None
    ) -> "LiveAgentEventBroker":
        from bot.stores import create_event_broker

        url = os.environ.get("EVENT_BROKER_URL")
        return cls(forward=await create_event_broker(url, event_loop) if url else None)

    def publish(self, event: Dict[Text, Any]) -> None:
        if self.forward is not None:
            self.forward.publish(event)
        sender = event.get("sender_id")
        if not sender or not self.hub.listeners(sender):
            return
        message = live_message(event)
        if message is not None:
            self.hub.publish(sender, message)

    def is_ready(self) -> bool:
        return self.forward is None or self.forward.is_ready()

    async def close(self) -> None:
        if self.forward is not None:
            await self.forward.close()


class CustomerOutbox:
    """Messages waiting for customers who poll (REST)."""

    def __init__(self, redis_url: Optional[str] = None) -> None:
        url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
        self._redis = None
        if url:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._memory: Dict[str, List[str]] = {}
        self._lock = threading.Lock()

    def append(self, sender: str, message: Dict[str, Any]) -> int:
        """Store a message; returns its id (1, 2, ...) within the conversation."""
        message = {**message, "timestamp": message.get("timestamp") or time.time()}
        if self._redis is not None:
            key = OUTBOX_KEY.format(sender=sender)
            with self._redis.pipeline() as pipe:
                pipe.rpush(key, json.dumps(message))
                pipe.expire(key, OUTBOX_TTL_S)
                length, _ = pipe.execute()
            return int(length)
        with self._lock:
            box = self._memory.setdefault(sender, [])
            box.append(json.dumps(message))
            del box[:-OUTBOX_MAX]
            return len(box)

    def since(self, sender: str, after: int = 0) -> List[Dict[str, Any]]:
        """Messages with id > ``after``, oldest first, each with its ``id``."""
        after = max(0, after)
        if self._redis is not None:
            raw = self._redis.lrange(OUTBOX_KEY.format(sender=sender), after, -1)
        else:
            with self._lock:
                raw = list(self._memory.get(sender, []))[after:]
        return [{"id": after + index, **json.loads(item)} for index, item in enumerate(raw, start=1)]


class OutboxOutput(OutputChannel):
    """Rasa output channel that delivers into the customer outbox."""

    def __init__(self, outbox: CustomerOutbox, sender_role: str = "agent") -> None:
        self.outbox = outbox
        self.sender_role = sender_role

    @classmethod
    def name(cls) -> Text:
        return "live_agent_outbox"

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        self.outbox.append(recipient_id, {"from": self.sender_role, "text": text})


async def rendered_response(nlg: NaturalLanguageGenerator, response: Text, tracker: Optional[DialogueStateTracker],
                            channel: Text, default: Text) -> Text:
    """The text of ``response`` from the domain (so a changed wording applies), or ``default`` when it can't be
    rendered."""
    try:
        generated = await nlg.generate(response, tracker, channel)
        if generated and generated.get("text"):
            return generated["text"]
    except Exception:
        logger.exception("could not render %s; using the default text", response)
    return default


def order_details_while_paused(tracker: DialogueStateTracker) -> List[SlotSet]:
    """Slot events keeping the order number, email or ZIP code the customer typed while the conversation was
    paused, read as the order check would have read them. Seen in a chat: "my email is bob@example.com", written
    while queued after the check asked for it, was asked for again once the agent handed back. Only kept, not
    trusted: every order action checks the pair against the orders database."""
    paused = max((i for i, e in enumerate(tracker.events) if isinstance(e, ConversationPaused)), default=None)
    if paused is None:
        return []
    order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
    for event in list(tracker.events)[paused + 1 :]:
        if not isinstance(event, UserUttered) or (event.text or "").startswith(EXTERNAL_MESSAGE_PREFIX):
            continue
        values = order_values_in(event.text or "", IDENTITY_SLOT if order_id and not identity else None)
        if values.get(ORDER_ID_SLOT, order_id) != order_id:
            order_id, identity = values[ORDER_ID_SLOT], None  # another order: the earlier email may not fit it
        identity = values.get(IDENTITY_SLOT, identity)
    changed = {ORDER_ID_SLOT: order_id, IDENTITY_SLOT: identity}
    return [SlotSet(slot, value) for slot, value in changed.items() if value != tracker.get_slot(slot)]


def record_bot_back(tracker: DialogueStateTracker, response: Text, text: Text, metadata: Dict[str, Any]) -> None:
    """Records a paused conversation becoming the assistant's again, with ``response`` (already sent as
    ``text``) as its first message, then listening: the next customer message is the bot's to answer. An
    order number, email or ZIP code typed while it was paused is kept for the order check."""
    details = order_details_while_paused(tracker)
    tracker.update(ConversationResumed())
    for event in details:
        tracker.update(event)
    tracker.update(ActionExecuted(response))
    tracker.update(BotUttered(text, metadata=metadata))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))

