"""CSAT end to end through REST against the real Rasa and action servers: the rating buttons after
goodbye and after an agent's hand-back, the stored csat_ratings rows, and the metrics read back
from the servers' own tracker store."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest
import requests
from sqlalchemy import select

from bot.analytics.report import build_report
from bot.db.models import CsatRating
from bot.db.session import dispose_engines, session_scope
from tests.servers import AGENT_TOKEN

AUTH = {"Authorization": f"Bearer {AGENT_TOKEN}"}
RATING_BUTTONS = ["1", "2", "3", "4", "5", "Skip"]


def say(rasa_url: str, sender: str, text: str) -> List[Dict[str, Any]]:
    reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(messages: List[Dict[str, Any]]) -> str:
    return " ".join(m.get("text", "") for m in messages)


def ratings(database_url: str, sender: str) -> List[tuple]:
    with session_scope(database_url) as session:
        rows = session.execute(select(CsatRating).where(CsatRating.conversation_id == sender)).scalars().all()
        return [(r.score, r.comment, r.agent_handled) for r in rows]


def ask_for_rating(messages: List[Dict[str, Any]]) -> Dict[str, str]:
    asked = [m for m in messages if "how would you rate" in m.get("text", "")]
    assert asked, messages
    buttons = {b["title"]: b["payload"] for b in asked[0]["buttons"]}
    assert list(buttons) == RATING_BUTTONS
    return buttons


@pytest.fixture
def database_url(handoff_database_url: str):
    yield handoff_database_url
    dispose_engines()


def test_the_rating_is_asked_once_per_session(handoff_rasa_url: str, database_url: str) -> None:
    # Seen in a chat: "thanks" asked for a rating, the customer went on, and "bye" asked again.
    sender = "csat-e2e-once"
    ask_for_rating(say(handoff_rasa_url, sender, "thanks"))
    assert "business days" in texts(say(handoff_rasa_url, sender, "how long does shipping take?"))
    goodbye = say(handoff_rasa_url, sender, "bye")
    assert "Have a great day" in texts(goodbye) and "how would you rate" not in texts(goodbye)
    assert not any(m.get("buttons") for m in goodbye)
    assert ratings(database_url, sender) == []


def test_rating_with_a_comment_after_goodbye(handoff_rasa_url: str, database_url: str) -> None:
    sender = "csat-e2e-bye"
    assert "business days" in texts(say(handoff_rasa_url, sender, "how long does shipping take?"))
    buttons = ask_for_rating(say(handoff_rasa_url, sender, "bye"))
    assert buttons["4"] == '/inform{"csat_score": 4}' and buttons["Skip"] == "/deny"
    reply = say(handoff_rasa_url, sender, buttons["4"])
    assert "Anything you'd like to tell us?" in texts(reply)
    assert ratings(database_url, sender) == [(4, None, 0)]  # stored before any comment
    assert texts(say(handoff_rasa_url, sender, "the answer was clear and quick")) == "Thank you for your feedback!"
    assert ratings(database_url, sender) == [(4, "the answer was clear and quick", 0)]


def test_skipping_the_rating_stores_nothing(handoff_rasa_url: str, database_url: str) -> None:
    sender = "csat-e2e-skip"
    buttons = ask_for_rating(say(handoff_rasa_url, sender, "thanks!"))
    assert "No problem" in texts(say(handoff_rasa_url, sender, buttons["Skip"]))
    assert ratings(database_url, sender) == []


def test_rating_after_an_agent_hands_back(handoff_rasa_url: str, database_url: str, tmp_path_factory) -> None:
    rasa_url, sender = handoff_rasa_url, "csat-e2e-agent"
    assert "connecting you" in texts(say(rasa_url, sender, "I want to talk to a human agent"))
    queued = requests.get(f"{rasa_url}/webhooks/live_agent/api/queue", headers=AUTH, timeout=30).json()["queued"]
    handoff_id = next(h["id"] for h in queued if h["conversation_id"] == sender)
    for step in ("claim", "resolve"):
        response = requests.post(f"{rasa_url}/webhooks/live_agent/api/handoffs/{handoff_id}/{step}", headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
    buttons = ask_for_rating(say(rasa_url, sender, "no, that's all"))
    reply = say(rasa_url, sender, buttons["5"])
    no_comment = next(b["payload"] for m in reply for b in m.get("buttons", []) if b["title"] == "No comment")
    assert texts(say(rasa_url, sender, no_comment)) == "Thank you for your feedback!"
    assert ratings(database_url, sender) == [(5, None, 1)]

    # The metrics read the same conversations back from the servers' tracker store.
    tracker_db = next(tmp_path_factory.getbasetemp().glob("handoff-servers*/trackers.db"))
    import time

    figures = build_report(time.time() - 3600, time.time() + 60, f"sqlite:///{tracker_db}", database_url, progress=False)
    assert figures["csat"]["agent_handled"]["distribution"]["5"] >= 1
    assert figures["csat"]["bot_only"]["distribution"]["4"] >= 1
    assert figures["csat"]["bot_only"]["skipped"] >= 1
    assert figures["handoffs"]["handling_seconds"]["count"] >= 1
