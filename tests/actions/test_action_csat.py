"""action_csat_save against a real SQLite database: rating stored at once, comment added, bad input ignored."""
from functools import partial

from rasa_sdk import Tracker
from sqlalchemy import select

from actions.csat import INVALID_TEXT, THANKS_TEXT, ActionCsatSave
from bot.csat import CsatStore, parse_score
from bot.db.models import CsatRating
from bot.db.session import session_scope
from tests.actions.action_helpers import run_action


def tracker(sender: str, events=(), **slots) -> Tracker:
    values = {"csat_score": None, "csat_comment": None, "csat_rating_id": None, **slots}
    latest = {"text": "", "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    return Tracker(sender, values, latest, list(events), False, None, {}, "action_listen")


def rows(db_url: str):
    with session_scope(db_url) as session:
        return [(r.conversation_id, r.score, r.comment, r.agent_handled)
                for r in session.execute(select(CsatRating).order_by(CsatRating.id)).scalars()]


def test_rating_then_comment(db_url: str) -> None:
    action = ActionCsatSave(CsatStore(partial(session_scope, db_url)))
    events, messages = run_action(action, tracker("c-1", csat_score=4.0))
    assert messages == []
    assert rows(db_url) == [("c-1", 4, None, 0)]
    rating_id = next(e["value"] for e in events if e["name"] == "csat_rating_id")
    events, messages = run_action(action, tracker("c-1", csat_score=4.0, csat_rating_id=rating_id,
                                                  csat_comment="  quick and clear  "))
    assert [m["text"] for m in messages] == [THANKS_TEXT]
    assert rows(db_url) == [("c-1", 4, "quick and clear", 0)]
    assert events == [{"event": "slot", "timestamp": None, "name": "csat_rating_id", "value": None}]


def test_no_comment_and_agent_handled(db_url: str) -> None:
    action = ActionCsatSave(CsatStore(partial(session_scope, db_url)))
    handed_off = [{"event": "action", "name": "action_handoff"}]
    events, _ = run_action(action, tracker("c-2", handed_off, csat_score=5))
    rating_id = next(e["value"] for e in events if e["name"] == "csat_rating_id")
    run_action(action, tracker("c-2", handed_off, csat_score=5, csat_rating_id=rating_id, csat_comment="-"))
    assert rows(db_url) == [("c-2", 5, None, 1)]


def test_an_invalid_score_is_not_stored(db_url: str) -> None:
    action = ActionCsatSave(CsatStore(partial(session_scope, db_url)))
    events, messages = run_action(action, tracker("c-3", csat_score=9))
    assert [m["text"] for m in messages] == [INVALID_TEXT]
    assert rows(db_url) == []
    assert [parse_score(v) for v in (4, "4", 4.0, 4.5, 0, "x", None)] == [4, 4, 4, None, None, None, None]


def test_a_database_error_never_reaches_the_customer() -> None:
    def broken():
        raise RuntimeError("database down")

    _, messages = run_action(ActionCsatSave(CsatStore(broken)), tracker("c-4", csat_score=3))
    assert messages == []
