"""FollowUpPolicy on hand-built trackers: follow-up questions to a help-center answer go back to it."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.follow_up_policy import FollowUpPolicy, is_follow_up_question
from bot.policies.handoff_policy import HandoffPolicy
from tests.policies.test_handoff_policy import make_policy as make_handoff_policy
from tests.policies.test_handoff_policy import tracker

ROOT = Path(__file__).resolve().parents[2]
GROUNDED = {"kb_answer": {"grounded": True, "sources": ["https://help.brightbay.example/help/price-match"]}}
NOT_FOUND = {"kb_answer": {"grounded": False, "sources": []}}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def make_policy(tmp_path: Path, **config: Any) -> FollowUpPolicy:
    return FollowUpPolicy(
        {**FollowUpPolicy.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("follow_up"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.fixture
def policy(tmp_path: Path) -> FollowUpPolicy:
    return make_policy(tmp_path)


def user(text: str, intent: str) -> List[Event]:
    return [ActionExecuted("action_listen"), UserUttered(text, {"name": intent, "confidence": 0.8})]


def help_center(metadata: dict = GROUNDED) -> List[Event]:
    return [ActionExecuted("action_answer_question"), BotUttered("We'll refund you the difference.", metadata=metadata)]


def predicted(policy: FollowUpPolicy, domain: Domain, t: DialogueStateTracker) -> Optional[str]:
    prediction = policy.predict_action_probabilities(t, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.probabilities.index(max(prediction.probabilities))]


@pytest.mark.parametrize("text", [
    "what about if it drops on your own site?", "How about a price drop on a sale item", "what if it was a gift?",
    "and if I paid with a gift card?", "but what if the box is opened?",
])
def test_a_follow_up_question_to_a_help_center_answer_goes_back_to_it(policy, domain, text) -> None:
    t = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(), user(text, "complaint"))
    assert predicted(policy, domain, t) == "action_answer_question"


def test_a_follow_up_read_as_placing_an_order_goes_back_to_the_help_center(policy, domain) -> None:
    # Seen in a chat: "what about walmart" after "do you price match amazon?" (place_order, 0.66) got how to check out.
    t = tracker(domain, user("do you price match amazon?", "check_refund_policy"), help_center(),
                user("what about walmart", "place_order"))
    assert predicted(policy, domain, t) == "action_answer_question"


@pytest.mark.parametrize("text,intent", [
    ("my package arrived broken", "complaint"),  # a complaint, not a follow-up
    ("and it arrived broken", "complaint"),  # a statement, not a question
    ("what about my refund?", "track_refund"),  # its rule answers it already
    ("what about the shipping", "delivery_options"),
])
def test_other_messages_are_left_to_the_rules(policy, domain, text, intent) -> None:
    t = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(), user(text, intent))
    assert predicted(policy, domain, t) is None


@pytest.mark.parametrize("text,intent,expected", [
    # Seen in a chat: after the warranty answer, "how do i make a claim" (complaint, 0.98) got the apology.
    ("how do i make a claim", "complaint", "action_answer_question"),
    ("ok so where do I send the photo?", "complaint", "action_answer_question"),
    ("how can i pay with two cards", "payment_issue", "action_answer_question"),
    # change_order keeps its own reply: the help center answers "how do I change my order?" with the address.
    ("how do i change my order?", "change_order", None),
    ("the blender i got is broken", "complaint", None),
])
def test_a_how_to_question_after_a_help_center_answer_goes_back_to_it(policy, domain, text, intent, expected) -> None:
    t = tracker(domain, user("is it covered by warranty?", "check_refund_policy"), help_center(), user(text, intent))
    assert predicted(policy, domain, t) == expected
    # Not after anything else.
    canned = tracker(domain, user("hi", "greet"), [ActionExecuted("utter_greet"), BotUttered("Hi!")], user(text, intent))
    assert predicted(policy, domain, canned) is None


def test_only_right_after_a_grounded_help_center_answer(policy, domain) -> None:
    follow_up = user("what about if it drops on your own site?", "complaint")
    not_found = tracker(domain, user("do you sell drones", "out_of_scope"), help_center(NOT_FOUND), follow_up)
    canned = tracker(domain, user("hi", "greet"), [ActionExecuted("utter_greet"), BotUttered("Hi!")], follow_up)
    earlier = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(),
                      user("thanks", "thank_you"), [ActionExecuted("utter_you_are_welcome"), BotUttered("Anytime")],
                      follow_up)
    assert [predicted(policy, domain, t) for t in (not_found, canned, earlier)] == [None, None, None]


def test_not_while_a_form_runs_or_the_conversation_is_paused(policy, domain) -> None:
    t = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(),
                [ActiveLoop("order_form")], user("what about if it drops on your own site?", "complaint"))
    assert predicted(policy, domain, t) is None


def test_after_its_answer_it_waits_for_the_customer(policy, domain) -> None:
    t = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(),
                user("what about if it drops on your own site?", "complaint"),
                [ActionExecuted("action_answer_question", policy="FollowUpPolicy"), BotUttered("Within 14 days...")])
    assert predicted(policy, domain, t) == "action_listen"
    # After a rule's help-center answer it predicts nothing (the rules wait for the customer themselves).
    ruled = tracker(domain, user("do you price match?", "check_refund_policy"),
                    [ActionExecuted("action_answer_question", policy="RulePolicy"), BotUttered("...")])
    assert predicted(policy, domain, ruled) is None


def test_it_beats_the_complaint_rule_and_loses_to_a_handoff(policy, domain, tmp_path) -> None:
    t = tracker(domain, user("do you price match?", "check_refund_policy"), help_center(),
                user("what about if it drops on your own site? let me talk to a real person", "complaint"))
    ours = policy.predict_action_probabilities(t, domain)
    rule = PolicyPrediction([0.0] * len(domain.action_names_or_texts), "RulePolicy", 4)
    rule.probabilities[domain.index_for_action("utter_complaint")] = 1.0
    assert DefaultPolicyPredictionEnsemble._pick_best_policy([rule, ours]).policy_name == "FollowUpPolicy"
    handoff: HandoffPolicy = make_handoff_policy(tmp_path / "handoff")
    best = DefaultPolicyPredictionEnsemble._pick_best_policy([rule, ours, handoff.predict_action_probabilities(t, domain)])
    assert best.policy_name == "HandoffPolicy"


def test_follow_up_wording() -> None:
    assert is_follow_up_question("And do I need the original box?")
    assert not is_follow_up_question("And I need the original box.")
    assert not is_follow_up_question("the box: what about it?")


@pytest.mark.parametrize("key,value,shown", [
    ("priority", 0, "0"),
    ("intents", "complaint", "'complaint'"),
    ("answer_action", "", "''"),
    ("how_to_intents", "complaint", "'complaint'"),
    ("did_not_help_intents", [""], "['']"),
])
def test_bad_config_is_refused_with_the_value(tmp_path, key, value, shown) -> None:
    with pytest.raises(InvalidConfigException) as error:
        make_policy(tmp_path, **{key: value})
    assert key in str(error.value) and shown in str(error.value)


@pytest.mark.parametrize("text,intent,expected", [
    # Seen in a chat: after the unsubscribe answer, "i did that but still get them" (complaint, 0.84) got the apology,
    # "Please tell me what happened".
    ("i did that but still get them", "complaint", "action_answer_question"),
    ("tried that already", "complaint", "action_answer_question"),
    ("my code still doesn't work", "payment_issue", "action_answer_question"),
    ("my package arrived broken", "complaint", None),  # a new complaint
    ("the code doesn't work", "review", None),  # not one of did_not_help_intents
])
def test_saying_the_answer_did_not_help_goes_back_to_the_help_center(policy, domain, text, intent, expected) -> None:
    t = tracker(domain, user("how do i unsubscribe", "newsletter_subscription"), help_center(), user(text, intent))
    assert predicted(policy, domain, t) == expected
    canned = tracker(domain, user("hi", "greet"), [ActionExecuted("utter_greet"), BotUttered("Hi!")], user(text, intent))
    assert predicted(policy, domain, canned) is None
