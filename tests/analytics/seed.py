"""A small tracker store and handoff table with known conversations, written through Rasa's SQLTrackerStore.

Window: 2026-11-09 00:00 to 2026-11-16 00:00 UTC. Every expected figure in test_metrics.py is
counted by hand from the conversations below.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, BotUttered, ConversationPaused, ConversationResumed, SessionStarted, SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.db.models import Base, Handoff

ROOT = Path(__file__).resolve().parents[2]
SINCE = datetime(2026, 11, 9, tzinfo=timezone.utc).timestamp()
UNTIL = datetime(2026, 11, 16, tzinfo=timezone.utc).timestamp()


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=timezone.utc).timestamp()


class Script:
    """Events of one sender, each a few seconds after the previous one."""

    def __init__(self) -> None:
        self.events: List[Any] = []
        self.t = 0.0

    def start(self, ts: float) -> "Script":
        self.t = ts
        self.events += [ActionExecuted("action_session_start", timestamp=self.t), SessionStarted(timestamp=self.t),
                        ActionExecuted("action_listen", timestamp=self.t)]
        return self

    def tick(self, seconds: float = 5) -> float:
        self.t += seconds
        return self.t

    def user(self, intent: str, text: str = "", llm: Optional[Dict[str, Any]] = None) -> "Script":
        parse = {"text": text or intent, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
        if llm is not None:
            parse["llm"] = llm
        self.events.append(UserUttered(text or intent, parse["intent"], [], parse, timestamp=self.tick()))
        return self

    def action(self, name: str, listen: bool = True) -> "Script":
        self.events.append(ActionExecuted(name, timestamp=self.tick(1)))
        if listen:
            self.events.append(ActionExecuted("action_listen", timestamp=self.tick(0.1)))
        return self

    def bot(self, text: str, **metadata: Any) -> "Script":
        self.events.append(BotUttered(text, {}, metadata, timestamp=self.tick(0.5)))
        return self

    def slot(self, name: str, value: Any) -> "Script":
        self.events.append(SlotSet(name, value, timestamp=self.tick(0.1)))
        return self

    def loop(self, name: Optional[str]) -> "Script":
        self.events.append(ActiveLoop(name, timestamp=self.tick(0.1)))
        return self

    def other(self, event: Any) -> "Script":
        event.timestamp = self.tick(0.1)
        self.events.append(event)
        return self


def call(prompt: int, completion: int, cost: float, cached: bool = False) -> Dict[str, Any]:
    return {"model": "gpt-4o-mini", "prompt_tokens": prompt, "completion_tokens": completion,
            "latency_ms": 400.0, "cost_usd": cost, "cached": cached}


def conversations() -> Dict[str, Script]:
    s: Dict[str, Script] = {}
    # c0: before the window (2026-11-07): ignored.
    s["c0"] = Script().start(at(7, 10)).user("greet").action("utter_greet")
    # c1: an answered question (2 NLU LLM calls + 1 grounded-answer call), goodbye, rated 5. Contained.
    c1 = s["c1"] = Script().start(at(10, 9))
    c1.user("greet").action("utter_greet")
    c1.user("delivery_period", "how long does shipping take",
            llm={"called": True, "used": True, "calls": [call(100, 20, 0.001), call(50, 10, 0.0005)],
                 "cost_usd": 0.0015, "prompt_tokens": 150, "completion_tokens": 30})
    c1.action("action_answer_question", listen=False).bot("3-5 days.", kb_answer={"grounded": True, "llm_usage": call(200, 40, 0.002)})
    c1.action("action_listen", listen=False)
    c1.user("goodbye").action("utter_goodbye", listen=False).action("utter_ask_csat")
    c1.user("inform", '/inform{"csat_score": 5}').action("action_csat_save", listen=False).slot("csat_score", 5.0)
    c1.action("csat_form", listen=False).loop("csat_form").action("action_listen", listen=False)
    # c8: the same sender, a new session on 2026-11-13 about order 10003. Contained.
    c1.start(at(13, 15)).user("track_order").action("order_form", listen=False).loop("order_form")
    c1.action("action_listen", listen=False).user("inform", "10003").slot("order_id", "10003")
    c1.action("order_form", listen=False).loop(None).action("action_order_status")
    # c2: order 10001 tracked, thanks, rating skipped. Contained; not a first-contact resolution (c3).
    c2 = s["c2"] = Script().start(at(10, 11))
    c2.user("track_order").action("order_form", listen=False).loop("order_form").action("action_listen", listen=False)
    c2.user("inform", "10001").slot("order_id", "10001").action("order_form")
    c2.user("inform", "alice@example.com").slot("order_identity", "alice@example.com")
    c2.action("order_form", listen=False).loop(None).action("action_order_status")
    # Asked by action_ask_csat (since 2026-11-27; the others by the response alone, as stored before).
    c2.user("thank_you").action("utter_you_are_welcome", listen=False).action("action_ask_csat")
    c2.user("deny").action("utter_csat_skipped")
    # c3: back about order 10001 the next day, a message not understood, then silence in the form: abandoned.
    c3 = s["c3"] = Script().start(at(11, 8))
    c3.user("track_order").action("order_form", listen=False).loop("order_form").action("action_listen", listen=False)
    c3.user("inform", "10001").slot("order_id", "10001").action("order_form")
    c3.user("nlu_fallback", "asdf qwer").action("action_answer_question", listen=False).action("order_form")
    # c4: asks for a person (handoff resolved by an agent), "no" to "anything else?", rated 4.
    c4 = s["c4"] = Script().start(at(11, 14))
    c4.user("contact_human_agent").action("action_handoff", listen=False).bot("Connecting you.")
    c4.other(ConversationPaused()).user("greet", "hello?")
    c4.other(ConversationResumed()).action("utter_anything_else", listen=False).bot("Is there anything else I can help with?")
    c4.action("action_listen", listen=False)
    c4.user("deny").action("utter_goodbye", listen=False).action("utter_ask_csat")
    c4.user("inform", '/inform{"csat_score": 4}').action("action_csat_save", listen=False).slot("csat_score", 4.0)
    # c5: an angry complaint about order 10004: handed off (anger, high_value); c9 returns about it.
    c5 = s["c5"] = Script().start(at(12, 10))
    c5.user("complaint", "this is a disgrace, order 10004").slot("order_id", "10004")
    c5.action("action_handoff", listen=False).bot("Connecting you.").other(ConversationPaused())
    # c6: a cancellation waiting for yes/no, then goodbye and a rating of 2. Contained (goodbye).
    c6 = s["c6"] = Script().start(at(12, 16))
    c6.user("cancel_order").action("order_form", listen=False).loop("order_form").action("action_listen", listen=False)
    c6.user("inform", "10002 bob@example.com").slot("order_id", "10002").slot("order_identity", "bob@example.com")
    c6.action("order_form", listen=False).loop(None).action("action_cancel_order", listen=False)
    c6.slot("pending_confirmation", "cancel_order").action("action_listen", listen=False)
    c6.user("goodbye").action("utter_goodbye", listen=False).action("utter_ask_csat")
    c6.user("inform", '/inform{"csat_score": 2}').action("action_csat_save", listen=False).slot("csat_score", 2.0)
    # c7: two messages not understood, one out of scope answered from a cached LLM reply. Contained.
    c7 = s["c7"] = Script().start(at(12, 20))
    c7.user("nlu_fallback", "blorp").action("action_answer_question")
    c7.user("nlu_fallback", "zzz").action("action_answer_question")
    c7.user("out_of_scope", "do you price match").action("action_answer_question", listen=False)
    c7.bot("Yes.", kb_answer={"grounded": True, "llm_usage": call(100, 20, 0.0, cached=True)}).action("action_listen", listen=False)
    # c9: after the window (2026-11-17), about order 10004: only makes c5 a return.
    c9 = s["c9"] = Script().start(at(17, 9))
    c9.user("track_order").slot("order_id", "10004").action("order_form")
    # c10: a person, please, after hours: handed off, never claimed.
    c10 = s["c10"] = Script().start(at(14, 23))
    c10.user("contact_human_agent").action("action_handoff", listen=False).bot("Our team is offline.").other(ConversationPaused())
    return s


def handoffs(scripts: Dict[str, Script]) -> List[Dict[str, Any]]:
    def when_handed_off(sender: str) -> float:
        return next(e.timestamp for e in scripts[sender].events
                    if isinstance(e, ActionExecuted) and e.action_name == "action_handoff")

    local = datetime.fromtimestamp
    rows = []
    for sender, reasons, wait, handling, after_hours in [
        ("c4", ["explicit_request"], 120, 600, False),
        ("c5", ["anger", "high_value"], 300, 1200, False),
        ("c10", ["explicit_request"], None, None, True),
    ]:
        created = when_handed_off(sender) + 0.5
        claimed = created + wait if wait is not None else None
        resolved = claimed + handling if handling is not None else None
        rows.append(dict(
            conversation_id=sender, channel="rest", reasons=json.dumps(reasons), priority=1, summary="{}",
            status="resolved" if resolved else "queued", claimed_by="ann" if claimed else None,
            after_hours=int(after_hours), created_at=local(created), updated_at=local(created),
            claimed_at=local(claimed) if claimed else None, resolved_at=local(resolved) if resolved else None,
        ))
    return rows


def seed(tmp: Path) -> Dict[str, str]:
    """Write the tracker store and the handoff records; returns their URLs."""
    tracker_db, app_db = tmp / "trackers.db", tmp / "brightbay.db"
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = SQLTrackerStore(domain, dialect="sqlite", db=str(tracker_db))
    scripts = conversations()

    async def save_all() -> None:
        for sender, script in scripts.items():
            await store.save(DialogueStateTracker.from_events(sender, script.events, domain.slots))

    asyncio.run(save_all())
    store.engine.dispose()
    engine = create_engine(f"sqlite:///{app_db}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Handoff(**row) for row in handoffs(scripts))
        session.commit()
    engine.dispose()
    return {"tracker_db": f"sqlite:///{tracker_db}", "db": f"sqlite:///{app_db}"}
