"""Saying no to a change, and the fallback replies."""
import pytest

from action_helpers import make_tracker, run_action, slot_sets, texts, verified
from actions.confirmation import ActionDeclineChange
from actions.fallback import CAPABILITIES, PROBLEM_TEXT, ActionFallback
from bot.nlu.message_guard import EMPTY, NO_WORDS, NOT_ENGLISH, TOO_LONG


@pytest.mark.parametrize("pending", ["cancel_order", "refund"])
def test_decline_resets_pending_and_changes_nothing(db_state, pending):
    before = db_state()
    events, messages = run_action(ActionDeclineChange(), make_tracker(verified(10002, pending_confirmation=pending),
                                                                      text="no", intent="deny"))
    assert texts(messages) == [
        "OK, I haven't changed anything on order 10002. Is there anything else I can help with?"
    ]
    assert slot_sets(events) == [("pending_confirmation", None)]
    assert db_state() == before


def test_decline_without_order_number():
    _, messages = run_action(ActionDeclineChange(), make_tracker({"pending_confirmation": "refund"}))
    assert texts(messages) == ["OK, I haven't changed anything on your order. Is there anything else I can help with?"]


@pytest.mark.parametrize(
    "problem, expected",
    [
        (EMPTY, "I didn't receive any text. Could you type your question?"),
        (NO_WORDS, "I can only read words, not emoji or symbols on their own. Could you tell me in words what you need?"),
        (TOO_LONG, "That message is too long for me to read. Could you say in a sentence or two what you need?"),
        (NOT_ENGLISH, "Sorry, I can only help in English, and so can our support team. Lo siento, solo puedo ayudar en "
                      "inglés. Désolé, je ne peux vous aider qu'en anglais. Leider kann ich nur auf Englisch helfen."),
    ],
)
def test_fallback_names_the_message_problem(problem, expected):
    tracker = make_tracker(text="🙂", intent="nlu_fallback", message_problem=problem)
    events, messages = run_action(ActionFallback(), tracker)
    assert texts(messages) == [expected]
    assert events == []


def test_fallback_problem_texts_are_distinct():
    assert len(set(PROBLEM_TEXT.values())) == len(PROBLEM_TEXT) == 4


def test_fallback_without_problem_lists_capabilities():
    tracker = make_tracker(text="blorf the quux", intent="nlu_fallback")
    _, messages = run_action(ActionFallback(), tracker)
    assert texts(messages) == [f"Sorry, I didn't quite understand that. {CAPABILITIES}"]
    assert "track an order" in messages[0]["text"]
