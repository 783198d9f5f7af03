"""Where agent messages go: socket.io pushes on the customer's socket, REST goes to the outbox."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, Dict, List

from rasa.core.channels.socketio import SocketIOInput

from bot.channels.live_agent import LiveAgentInput, parse_tokens
from bot.handoff.live import CustomerOutbox, LiveAgentEventBroker, LiveHub, OutboxOutput


class FakeSio:
    def __init__(self) -> None:
        self.emitted: List[Dict[str, Any]] = []

    async def emit(self, event: str, data: Any, room: Any = None, **kwargs: Any) -> None:
        self.emitted.append({"event": event, "data": data, "room": room})


def request_with(*channels: Any) -> Any:
    return SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(input_channels=list(channels))))


def test_socketio_customers_get_agent_messages_on_their_socket() -> None:
    socketio = SocketIOInput(bot_message_evt="bot_uttered")
    socketio.sio = FakeSio()
    live = LiveAgentInput(outbox=CustomerOutbox(redis_url=""))
    output = live.output_for(request_with(socketio, live), "socketio")
    asyncio.run(output.send_text_message("session-42", "Hi, Alice here"))
    assert socketio.sio.emitted == [{"event": "bot_uttered", "data": {"text": "Hi, Alice here"}, "room": "session-42"}]


def test_rest_customers_get_agent_messages_in_the_outbox() -> None:
    outbox = CustomerOutbox(redis_url="")
    live = LiveAgentInput(outbox=outbox)
    output = live.output_for(request_with(live), "rest")
    assert isinstance(output, OutboxOutput)
    asyncio.run(output.send_text_message("cust-1", "first"))
    asyncio.run(output.send_text_message("cust-1", "second"))
    assert [m["text"] for m in outbox.since("cust-1")] == ["first", "second"]
    assert [(m["id"], m["text"]) for m in outbox.since("cust-1", after=1)] == [(2, "second")]
    assert outbox.since("someone-else") == []


def test_broker_streams_messages_of_watched_conversations_only() -> None:
    async def scenario() -> List[Dict[str, Any]]:
        hub = LiveHub()
        broker = LiveAgentEventBroker(hub)
        queue = hub.subscribe("watched")
        broker.publish({"sender_id": "watched", "event": "user", "text": "hello?", "timestamp": 1.0})
        broker.publish({"sender_id": "watched", "event": "slot", "name": "x", "value": 1})
        broker.publish({"sender_id": "other", "event": "user", "text": "not for you"})
        return [queue.get_nowait() for _ in range(queue.qsize())]

    assert asyncio.run(scenario()) == [{"type": "customer", "text": "hello?", "timestamp": 1.0}]


def test_agent_tokens() -> None:
    tokens = parse_tokens("alice:tok-a, bob:tok-b ,bare-token,,")
    assert tokens["tok-a"] == "alice" and tokens["tok-b"] == "bob"
    assert tokens["bare-token"].startswith("agent-") and len(tokens) == 3
    assert parse_tokens("") == {} and parse_tokens(None) == {}


def test_outbox_in_redis_is_shared_between_instances() -> None:
    import uuid

    import pytest
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (tests/handoff starts it)")
    sender = f"cust-{uuid.uuid4().hex}"
    CustomerOutbox(url).append(sender, {"from": "agent", "text": "from instance A"})
    try:
        assert [m["text"] for m in CustomerOutbox(url).since(sender)] == ["from instance A"]
    finally:
        redis.Redis.from_url(url).delete(f"brightbay:outbox:{sender}")


def test_live_messages_cross_instances_through_redis() -> None:
    import uuid

    import pytest
    import redis

    from bot.handoff.live import RedisLiveHub

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (tests/handoff starts it)")
    conversation = f"conv-{uuid.uuid4().hex}"

    async def scenario() -> Dict[str, Any]:
        agent_side, customer_side = RedisLiveHub(url), RedisLiveHub(url)  # two Rasa instances
        queue = agent_side.subscribe(conversation)
        await asyncio.wait_for(queue.subscribed.wait(), 5)
        LiveAgentEventBroker(customer_side).publish(
            {"sender_id": conversation, "event": "user", "text": "still there?", "timestamp": 2.0})
        try:
            return await asyncio.wait_for(queue.get(), 5)
        finally:
            agent_side.unsubscribe(conversation, queue)
            await asyncio.sleep(0)

    assert asyncio.run(scenario()) == {"type": "customer", "text": "still there?", "timestamp": 2.0}
