"""Handoff end to end through REST against the real Rasa and action servers on loopback.

A customer is handed off, an agent claims the conversation through the API, the agent's
message reaches the customer (REST customers poll the live-agent channel), the customer's
reply reaches the agent over server-sent events, the agent resolves and the bot answers again.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
import requests
from sqlalchemy import select

from bot.db.models import Handoff, Refund
from bot.db.session import dispose_engines, session_scope
from tests.servers import AGENT_TOKEN

TOKEN = AGENT_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def database_url(handoff_database_url: str) -> Iterator[str]:
    yield handoff_database_url
    dispose_engines()


@pytest.fixture
def rasa_url(handoff_rasa_url: str) -> str:
    return handoff_rasa_url


def say(rasa_url: str, sender: str, text: str) -> List[str]:
    reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    return [m.get("text", "") for m in reply.json()]


def api(rasa_url: str, method: str, path: str, token: str = TOKEN, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{rasa_url}/webhooks/live_agent{path}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


def handoff_for(rasa_url: str, sender: str) -> Dict[str, Any]:
    queued = api(rasa_url, "GET", "/api/queue").json()["queued"]
    matches = [h for h in queued if h["conversation_id"] == sender]
    assert matches, queued
    return matches[0]


def stream_into(rasa_url: str, handoff_id: int, sink: "queue.Queue[Dict[str, Any]]", ready: threading.Event) -> None:
    with requests.get(f"{rasa_url}/webhooks/live_agent/api/handoffs/{handoff_id}/stream", headers=AUTH,
                      stream=True, timeout=60) as stream:
        event = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "ready":
                    ready.set()
                elif event == "message":
                    sink.put(json.loads(line[6:]))
                    if json.loads(line[6:]).get("type") == "customer":
                        return


def test_handoff_agent_conversation_and_handback(rasa_url: str) -> None:
    sender = "handoff-e2e-1"
    reply = " ".join(say(rasa_url, sender, "I want to talk to a human agent"))
    assert "connecting you with a member of our support team" in reply and "minute" in reply

    # Paused, waiting in the queue: the customer is told their place once, not answered by the bot.
    waiting = say(rasa_url, sender, "hello? is anyone there?")
    assert len(waiting) == 1 and "added that to your conversation" in waiting[0]
    assert "next in line" in waiting[0] or "ahead of you" in waiting[0]
    assert say(rasa_url, sender, "still waiting") == []  # told already (once per QUEUE_NOTICE_INTERVAL_S)

    handoff = handoff_for(rasa_url, sender)
    assert handoff["reasons"] == ["explicit_request"] and handoff["status"] == "queued"
    claimed = api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/claim").json()
    assert claimed["status"] == "active" and claimed["claimed_by"] == "alice"
    card = claimed["summary"]
    assert card["last_messages"][-1] == "I want to talk to a human agent"
    assert card["written_summary"]["source"] == "extractive" and card["written_summary"]["text"]
    # Nobody else can claim it again.
    assert api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/claim", token="other-token").status_code == 409

    transcript = api(rasa_url, "GET", f"/api/handoffs/{handoff['id']}/transcript").json()["messages"]
    assert [m["text"] for m in transcript if m["type"] == "customer"][-2:] == ["hello? is anyone there?", "still waiting"]
    assert not any("added that to your conversation" in (m.get("text") or "") for m in transcript)

    # The agent's message reaches the REST customer through the poll endpoint.
    sent = api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/messages", json={"text": "Hi, I'm Alice. How can I help?"})
    assert sent.status_code == 200, sent.text
    polled = requests.get(f"{rasa_url}/webhooks/live_agent/customer/{sender}/messages", timeout=10).json()
    assert [m["text"] for m in polled["messages"]] == ["Hi, I'm Alice. How can I help?"]
    assert polled["messages"][0]["from"] == "agent"

    # The customer's reply reaches the agent in real time (server-sent events).
    sink: "queue.Queue[Dict[str, Any]]" = queue.Queue()
    ready = threading.Event()
    listener = threading.Thread(target=stream_into, args=(rasa_url, handoff["id"], sink, ready), daemon=True)
    listener.start()
    assert ready.wait(20)
    started = time.monotonic()
    assert say(rasa_url, sender, "my parcel never arrived, order 10001") == []  # an agent has it: silent
    message = sink.get(timeout=20)
    assert message == {"type": "customer", "text": "my parcel never arrived, order 10001", "timestamp": message["timestamp"]}
    assert time.monotonic() - started < 5
    listener.join(10)

    note = api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/notes", json={"text": "re-sent the parcel"})
    assert note.status_code == 200 and note.json()["author"] == "alice"
    assert api(rasa_url, "GET", f"/api/handoffs/{handoff['id']}").json()["notes"][0]["text"] == "re-sent the parcel"

    # Resolve: the assistant is back and says so, and answers the next message itself.
    resolved = api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    polled = requests.get(f"{rasa_url}/webhooks/live_agent/customer/{sender}/messages",
                          params={"after": polled["next"]}, timeout=10).json()
    assert [m["text"] for m in polled["messages"]] == ["Is there anything else I can help with?"]
    answer = " ".join(say(rasa_url, sender, "how long does shipping take?"))
    assert "business days" in answer
    assert sender not in [h["conversation_id"] for h in api(rasa_url, "GET", "/api/queue").json()["queued"]]


def test_an_email_typed_while_queued_is_not_asked_for_again_after_the_hand_back(rasa_url: str) -> None:
    # Seen in a chat: after the agent handed back, "ok so where is it" was asked the email given while queued.
    sender = "handoff-e2e-email-while-queued"
    assert "email address or ZIP code" in " ".join(say(rasa_url, sender, "where is my order 10002"))
    assert "connecting you" in " ".join(say(rasa_url, sender, "i want to talk to a human"))
    assert "added that to your conversation" in " ".join(say(rasa_url, sender, "my email is bob@example.com"))
    handoff = handoff_for(rasa_url, sender)
    assert api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/claim").status_code == 200
    assert api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/resolve").status_code == 200
    reply = " ".join(say(rasa_url, sender, "ok so where is it"))
    assert reply.startswith("Order 10002 ($1,249.00) was placed") and "hasn't shipped yet" in reply
    # The check still holds: a wrong email typed while queued is checked like any other.
    sender = "handoff-e2e-wrong-email-while-queued"
    say(rasa_url, sender, "where is my order 10002")
    say(rasa_url, sender, "i want to talk to a human")
    say(rasa_url, sender, "my email is alice@example.com")
    handoff = handoff_for(rasa_url, sender)
    api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/claim")
    api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/resolve")
    reply = " ".join(say(rasa_url, sender, "ok so where is it"))
    assert "$1,249.00" not in reply and "TV" not in reply


def test_a_queued_customer_who_does_not_want_to_wait_leaves_the_queue(rasa_url: str) -> None:
    sender = "handoff-e2e-leave"
    assert "connecting you" in " ".join(say(rasa_url, sender, "can i talk to a real person"))
    waiting = say(rasa_url, sender, "how long will this take?")
    assert len(waiting) == 1 and 'say "stop waiting"' in waiting[0]
    handoff = handoff_for(rasa_url, sender)

    left = say(rasa_url, sender, "no i dont want to wait")
    assert len(left) == 1 and "taken you out of the queue" in left[0]
    assert sender not in [h["conversation_id"] for h in api(rasa_url, "GET", "/api/queue").json()["queued"]]
    record = api(rasa_url, "GET", f"/api/handoffs/{handoff['id']}").json()
    assert record["status"] == "resolved" and record["claimed_by"] is None
    assert "left the queue" in record["notes"][0]["text"]
    # Nobody can claim it any more, and the bot answers again.
    assert api(rasa_url, "POST", f"/api/handoffs/{handoff['id']}/claim").status_code == 409
    assert "business days" in " ".join(say(rasa_url, sender, "how long does shipping take?"))


def test_yes_to_the_help_centers_offer_of_a_person_hands_off(rasa_url: str) -> None:
    """The help center found nothing and offered a person ("If you'd like, I can connect you..."): a typed
    yes must hand off, as the "Talk to a person" button does."""
    sender = "handoff-e2e-offer"
    offer = say(rasa_url, sender, "can you tell me the weather on mars")
    assert "connect you with one of our support agents" in " ".join(offer)
    assert "connecting you with a member of our support team" in " ".join(say(rasa_url, sender, "yes please"))
    assert handoff_for(rasa_url, sender)["reasons"] == ["explicit_request"]


def test_high_value_refund_is_linked_to_its_handoff(rasa_url: str, database_url: str) -> None:
    sender = "handoff-e2e-refund"
    say(rasa_url, sender, "I want a refund for order 10004")
    assert "Shall I go ahead?" in " ".join(say(rasa_url, sender, "carol@example.com"))
    reply = " ".join(say(rasa_url, sender, "yes"))
    assert "pending agent approval" in reply and "connecting you" in reply
    with session_scope(database_url) as session:
        handoff = session.execute(select(Handoff).where(Handoff.conversation_id == sender)).scalars().one()
        refund = session.get(Refund, handoff.refund_id)
        assert refund.order_id == 10004 and str(refund.status) == "pending_agent_approval"
        assert json.loads(handoff.reasons) == ["high_value"] and handoff.priority == 2
        card = json.loads(handoff.summary)
    assert card["customer"]["verified"] and card["customer"]["email"] == "carol@example.com"
    assert card["orders"][0]["total"] == "$649.99"
    assert card["refunds"][0]["status"] == "pending_agent_approval"


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/queue"),
    ("GET", "/api/me"),
    ("GET", "/api/handoffs/1"),
    ("POST", "/api/handoffs/1/claim"),
    ("GET", "/api/handoffs/1/transcript"),
    ("GET", "/api/handoffs/1/stream"),
    ("POST", "/api/handoffs/1/messages"),
    ("POST", "/api/handoffs/1/notes"),
    ("POST", "/api/handoffs/1/resolve"),
    ("POST", "/webhook"),
])
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic " + TOKEN, "Bearer "])
def test_agent_endpoints_need_a_valid_token(rasa_url: str, method: str, path: str, header: Any) -> None:
    headers = {"Authorization": header} if header else {}
    reply = requests.request(method, f"{rasa_url}/webhooks/live_agent{path}", headers=headers,
                             json={"text": "x", "handoff_id": 1}, timeout=10)
    assert reply.status_code == 401
    assert reply.json() == {"error": "unauthorized"}
