"""Support hours, the record store and queues (in-process, SQL, real Redis), the summary card,
and action_handoff against a real SQLite database."""
from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from datetime import datetime, timezone
from functools import partial
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff, mask_email, wait_minutes
from bot.handoff.decision import Decision, evaluate
from bot.handoff.hours import SupportHours, parse_hours
from bot.handoff.store import DatabaseQueue, HandoffStore, InMemoryQueue, RedisQueue
from bot.handoff.summary import build_card, extractive_summary, llm_card, written_summary
from bot.db.session import session_scope
from bot.llm import LLMSettings
from tests.fake_openai import FakeOpenAI

ET_MONDAY_10 = datetime(2026, 3, 16, 14, 0, tzinfo=timezone.utc)      # Mon 10:00 EDT
ET_MONDAY_21 = datetime(2026, 3, 17, 1, 0, tzinfo=timezone.utc)       # Mon 21:00 EDT
ET_SATURDAY_16 = datetime(2026, 3, 21, 20, 0, tzinfo=timezone.utc)    # Sat 16:00 EDT
ET_SATURDAY_18 = datetime(2026, 3, 21, 22, 0, tzinfo=timezone.utc)    # Sat 18:00 EDT
ET_SUNDAY_12 = datetime(2026, 3, 22, 16, 0, tzinfo=timezone.utc)      # Sun 12:00 EDT


# ------------------------------------------------------------------ hours


@pytest.mark.parametrize("now,open_", [
    (ET_MONDAY_10, True), (ET_MONDAY_21, False), (ET_SATURDAY_16, True), (ET_SATURDAY_18, False), (ET_SUNDAY_12, False),
])
def test_default_support_hours(now, open_) -> None:
    hours = SupportHours.from_env({}, clock=lambda: now)
    assert hours.is_open() is open_
    assert "closed Sunday" in hours.describe()


def test_hours_are_configurable_and_bad_specs_are_refused() -> None:
    assert SupportHours.from_env({"SUPPORT_HOURS": "24/7"}, clock=lambda: ET_SUNDAY_12).is_open()
    assert SupportHours.from_env({"SUPPORT_HOURS": "sun 10:00-14:00"}, clock=lambda: ET_SUNDAY_12).is_open()
    with pytest.raises(ValueError, match="'mon 9-5'"):
        parse_hours("mon 9-5")


# ------------------------------------------------------------------ store and queues


def redis_url() -> str:
    """The local Redis the tests use; started if it is down (no persistence)."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                        "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                        "--logfile", "/var/log/redis/ci.log"], check=False)
        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
    return url


@pytest.fixture(params=["memory", "sql", "redis"])
def store(request, db_url: str) -> HandoffStore:
    if request.param == "redis":
        queue = RedisQueue(redis_url(), key=f"test:handoff:{uuid.uuid4().hex}")
        yield HandoffStore(partial(session_scope, db_url), queue)
        queue._redis.delete(queue.key)
        return
    queue = InMemoryQueue() if request.param == "memory" else DatabaseQueue()
    yield HandoffStore(partial(session_scope, db_url), queue)


def test_queue_orders_by_priority_then_age_and_claims_once(store: HandoffStore) -> None:
    low = store.open("c-low", "rest", ["explicit_request"], 1, {"x": 1})
    urgent = store.open("c-urgent", "socketio", ["anger"], 3, {})
    high = store.open("c-high", "rest", ["high_value"], 2, {})
    assert [h.id for h in store.queued()] == [urgent.id, high.id, low.id]
    assert store.claim(urgent.id, "alice").claimed_by == "alice"
    assert store.claim(urgent.id, "bob") is None  # already taken
    assert [h.id for h in store.queued()] == [high.id, low.id]
    assert store.resolve(urgent.id, "bob") is None  # only the claimer resolves
    assert store.add_note(urgent.id, "alice", "called back")["author"] == "alice"
    resolved = store.resolve(urgent.id, "alice")
    assert resolved.status == "resolved" and resolved.resolved_at and resolved.notes[0]["text"] == "called back"
    assert store.open_for_conversation("c-urgent") is None
    assert store.open_for_conversation("c-low").id == low.id


def test_redis_queue_is_shared_between_stores(db_url: str) -> None:
    url, key = redis_url(), f"test:handoff:{uuid.uuid4().hex}"
    writer = HandoffStore(partial(session_scope, db_url), RedisQueue(url, key))   # e.g. the action server
    reader = HandoffStore(partial(session_scope, db_url), RedisQueue(url, key))   # e.g. another Rasa instance
    try:
        made = writer.open("shared-1", "rest", ["anger"], 3, {})
        assert [h.id for h in reader.queued()] == [made.id]
        assert reader.claim(made.id, "alice") is not None
        assert writer.queued() == []
    finally:
        reader.queue._redis.delete(key)


# ------------------------------------------------------------------ summary


def conversation() -> List[Dict[str, Any]]:
    def user(text: str, intent: str, order: str = "") -> List[Dict[str, Any]]:
        entities = [{"entity": "order_id", "value": order}] if order else []
        return [{"event": "action", "name": "action_listen"},
                {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                                                               "entities": entities}}]
    return [
        {"event": "session_started"},
        *user("I want my money back for order 10004", "get_refund", "10004"),
        {"event": "action", "name": "order_form"},
        *user("carol@example.com", "inform"),
        {"event": "action", "name": "action_request_refund"},
        {"event": "bot", "text": "I can request a refund of $649.99. Shall I go ahead?"},
        *user("yes, but this took way too long, I'm furious and fed up", "affirm"),
    ]


ORDER = {"order_id": 10004, "total": "649.99", "status": "delivered", "customer_name": "Carol Diaz",
         "customer_email": "carol@example.com", "customer_tier": "standard"}


def test_card_has_what_an_agent_needs() -> None:
    events = conversation()
    decision = evaluate(events, {}, {})
    card = build_card(events, decision, ORDER, [{"refund_id": 7, "order_id": 10004, "amount": "649.99",
                                                  "status": "pending_agent_approval"}], "rest")
    assert card["customer"] == {"verified": True, "name": "Carol Diaz", "email": "carol@example.com", "tier": "standard"}
    assert card["orders"] == [{"order_id": "10004", "verified": True, "total": "$649.99", "status": "delivered"}]
    assert card["intents"] == ["get_refund", "inform", "affirm"]
    assert card["assistant"][-1]["action"] == "action_request_refund"
    assert card["reasons"] == ["anger"] and card["sentiment"]["trend"] == "worsening"
    assert card["last_messages"][-1] == "yes, but this took way too long, I'm furious and fed up"
    text = extractive_summary(card)
    assert "Carol Diaz" in text and "$649.99" in text and "angry" in text and text.startswith("Carol Diaz")
    # In an agent's words, not intent names; what says nothing of the request is left out.
    assert "asked about a refund or return regarding order 10004" in text
    card["intents"] = ["track_order", "out_of_scope", "get_refund", "track_order"]
    assert "asked about an order's status, then a refund or return regarding" in extractive_summary(card)
    assert card["refunds"][0]["items"] == []  # the whole order


def test_a_zip_code_checked_as_the_identity_is_not_listed_as_an_order() -> None:
    events = conversation()
    zip_turn = [{"event": "action", "name": "action_listen"},
                {"event": "user", "text": "73301", "parse_data": {"intent": {"name": "inform", "confidence": 0.9},
                                                                  "entities": [{"entity": "order_id", "value": "73301"}]}},
                {"event": "slot", "name": "order_identity", "value": "73301"}]
    events = events[:4] + zip_turn + events[4:]
    card = build_card(events, evaluate(events, {}, {}), ORDER, [], "rest")
    assert [o["order_id"] for o in card["orders"]] == ["10004"]


def test_a_refund_of_some_lines_names_them_for_the_agent() -> None:
    events = conversation()
    refund = {"refund_id": 9, "order_id": 10003, "amount": "24.50", "status": "requested",
              "items": ("Insulated Water Bottle, 1 L",)}
    card = build_card(events, evaluate(events, {}, {}), ORDER, [refund], "rest")
    assert card["refunds"][0]["items"] == ["Insulated Water Bottle, 1 L"]
    assert "Refund #9 of $24.50 for Insulated Water Bottle, 1 L is requested." in extractive_summary(card)


def test_the_summary_quotes_whole_words_without_the_source_line_and_says_when_nothing_was_replied() -> None:
    # Seen in the queue: 'The assistant last said: "nothing yet"' for a customer handed off at their first message,
    # and a help-center answer quoted up to "Source: Shipping options, costs an".
    events = conversation()
    card = build_card(events, evaluate(events, {}, {}), ORDER, [], "rest")
    card["assistant"][-1]["text"] = (
        "Standard shipping to US addresses takes 3-5 business days. It is free on orders over $50; for smaller orders "
        "it costs $5.99.\n\nSource: Shipping options, costs and delivery times (https://help.brightbay.example/help)")
    card["last_messages"][-1] = "why " * 60
    text = extractive_summary(card)
    assert ('The assistant last said: "Standard shipping to US addresses takes 3-5 business days. It is free on orders '
            'over $50; for smaller orders it costs $5.99."') in text and "Source" not in text
    assert 'last message: "' + "why " * 39 + 'why..."' in text
    card["assistant"] = []
    assert "The assistant hadn't replied yet." in extractive_summary(card)


def test_llm_summary_is_redacted_and_used() -> None:
    events = conversation()
    card = build_card(events, evaluate(events, {}, {}), ORDER, [], "rest")
    card["last_messages"].append("call me on 415-555-0132 or carol@example.com")
    with FakeOpenAI() as fake:
        fake.script({"summary": "Carol wants a $649.99 refund on order 10004 and is upset about delays."})
        settings = LLMSettings(api_key="test", base_url=fake.base_url, timeout_s=2, max_retries=0)
        result = asyncio.run(written_summary(card, settings=settings))
        prompt = json.dumps(fake.requests[0])
    assert result == {"text": "Carol wants a $649.99 refund on order 10004 and is upset about delays.", "source": "llm"}
    assert "carol@example.com" not in prompt and "415-555-0132" not in prompt and "Carol Diaz" not in prompt
    assert "carol@example.com" not in json.dumps(llm_card(card))


def test_summary_falls_back_to_extractive_when_the_llm_fails() -> None:
    events = conversation()
    card = build_card(events, evaluate(events, {}, {}), ORDER, [], "rest")
    with FakeOpenAI() as fake:
        fake.script({"nothing": "here"})  # valid JSON without a summary
        settings = LLMSettings(api_key="test", base_url=fake.base_url, timeout_s=2, max_retries=0)
        result = asyncio.run(written_summary(card, settings=settings))
    assert result["source"] == "extractive" and "Carol Diaz" in result["text"]
    assert asyncio.run(written_summary(card, settings=LLMSettings()))["source"] == "extractive"


# ------------------------------------------------------------------ action_handoff


def sdk_tracker(events: List[Dict[str, Any]], slots: Dict[str, Any], channel: str = "rest") -> Tracker:
    for event in events:
        if event.get("event") == "user":
            event["input_channel"] = channel
    latest = next(e for e in reversed(events) if e.get("event") == "user")
    return Tracker("cust-1", slots, latest["parse_data"] | {"text": latest["text"]}, events, False, None,
                   {"name": None}, "action_listen")


def run_action(action: ActionHandoff, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_action_hands_off_with_record_queue_and_pause(order_service, db_url, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    order_service.request_refund(10004, "carol@example.com")
    store = HandoffStore(partial(session_scope, db_url), InMemoryQueue())
    store.open("someone-else", "rest", ["anger"], 3, {})  # as urgent and older: ahead
    action = ActionHandoff(order_service, store, SupportHours.from_env({}, clock=lambda: ET_MONDAY_10))
    tracker = sdk_tracker(conversation(), {"order_id": "10004", "order_identity": "carol@example.com"}, "socketio")
    messages, events = run_action(action, tracker)
    assert "connecting you" in messages[0]["text"] and "1 customer ahead of you" in messages[0]["text"]
    assert events[-1]["event"] == "pause"
    record = store.open_for_conversation("cust-1")
    assert record.channel == "socketio" and record.reasons == ["anger", "high_value"] and record.priority == 3
    assert record.refund_id is not None and record.order_id == 10004
    assert record.summary["written_summary"]["source"] == "extractive"
    assert record.summary["refunds"][0]["status"] == "pending_agent_approval"


@pytest.mark.parametrize("text, told", [("can someone call me?", True), ("i'd rather talk on the phone", True),
                                        ("i want to speak to a person", False)])
def test_a_request_for_a_call_gets_the_phone_number_too(order_service, db_url, text, told) -> None:
    # Seen in a chat: "can someone call me?" was queued for a chat agent without a word about the phone.
    store = HandoffStore(partial(session_scope, db_url), InMemoryQueue())
    action = ActionHandoff(order_service, store, SupportHours.from_env({}, clock=lambda: ET_MONDAY_10))
    events = [{"event": "session_started"}, {"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": {"intent": {"name": "contact_human_agent", "confidence": 0.9},
                                                             "entities": []}}]
    messages, _ = run_action(action, sdk_tracker(events, {}))
    assert "connecting you" in messages[0]["text"]
    call = [m["text"] for m in messages[1:] if "1-800-555-0199" in m["text"]]
    assert call == ([("We can't call you from this chat, but if you'd rather talk on the phone, our number is "
                      "1-800-555-0199, answered Monday-Friday 8:00-20:00 ET and Saturday 9:00-17:00 ET (closed Sunday). "
                      "Otherwise, stay here and the agent will answer you in this chat.")] if told else [])


def test_action_after_hours_takes_a_message(order_service, db_url) -> None:
    store = HandoffStore(partial(session_scope, db_url), InMemoryQueue())
    action = ActionHandoff(order_service, store, SupportHours.from_env({}, clock=lambda: ET_SUNDAY_12))
    tracker = sdk_tracker(conversation(), {"order_id": "10004", "order_identity": "carol@example.com"})
    messages, events = run_action(action, tracker)
    assert "offline right now" in messages[0]["text"] and "c***@example.com" in messages[0]["text"]
    assert "closed Sunday" in messages[0]["text"]
    assert events[-1]["event"] == "pause" and store.open_for_conversation("cust-1").after_hours


def test_action_tells_the_customer_another_way_when_it_fails(order_service) -> None:
    class Broken(HandoffStore):
        def open(self, *args, **kwargs):
            raise RuntimeError("database down")

    action = ActionHandoff(order_service, Broken(), SupportHours.from_env({}, clock=lambda: ET_MONDAY_10))
    messages, events = run_action(action, sdk_tracker(conversation(), {}))
    assert "1-800-555-0199" in messages[0]["text"] and events == []


def test_wait_estimate_and_masking() -> None:
    assert wait_minutes(1, 4, 2) == 2 and wait_minutes(5, 4, 2) == 10
    assert mask_email("carol@example.com") == "c***@example.com"
    assert Decision().handoff is False


def test_the_summary_quotes_the_first_request_when_the_last_messages_no_longer_hold_it() -> None:
    # Seen in the queue: "i was charged twice for order 10002" summed up as "a payment problem, then the return policy",
    # the last messages being "bob@example.com", "how long until i get it back" and "this is ridiculous, fix it now".
    events = conversation()
    card = build_card(events, evaluate(events, {}, {}), ORDER, [], "rest")
    assert card["first_request"] == "I want my money back for order 10004"
    assert "opened with" not in extractive_summary(card)  # still among the last messages
    card["last_messages"] = ["carol@example.com", "how long until i get it back", "this is ridiculous, fix it now"]
    assert 'regarding order 10004 ($649.99, delivered). They opened with: "I want my money back for order 10004".' in (
        extractive_summary(card))
    # The LLM gets it redacted, as the other free text.
    card["first_request"] = "charged twice on card 4111 1111 1111 1111"
    assert "4111" not in str(llm_card(card)["first_request"])
