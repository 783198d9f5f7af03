"""AnotherItemPolicy on hand-built trackers: "and the carabiners too" right after a refund."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.another_item_policy import AnotherItemPolicy, is_addition
from tests.policies.test_follow_up_policy import predicted, user
from tests.policies.test_handoff_policy import tracker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def make_policy(tmp_path: Path, **config: Any) -> AnotherItemPolicy:
    return AnotherItemPolicy(
        {**AnotherItemPolicy.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("another_item"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.fixture
def policy(tmp_path: Path) -> AnotherItemPolicy:
    return make_policy(tmp_path)


def refund_filed() -> List[Event]:
    return [ActionExecuted("action_confirm_refund"), BotUttered("I've requested refund #9 of $24.50 for the bottle.")]


def test_additions_are_recognised() -> None:
    assert is_addition("and the carabiners too") and is_addition("the cable as well") and is_addition("also the lamp")
    assert not is_addition("where is my order") and not is_addition("the total was too high for me")


@pytest.mark.parametrize("text, intent", [
    ("and the carabiners too", "place_order"), ("the carabiners as well please", "place_order"),
    ("and the cable too", "complaint"),
])
def test_an_item_added_right_after_a_refund_goes_to_the_item_action(policy, domain, text, intent) -> None:
    # Seen in a chat: "and the carabiners too" after the bottle's refund got how to place an order.
    t = tracker(domain, user("yes", "affirm"), refund_filed(), user(text, intent))
    assert predicted(policy, domain, t) == "action_refund_more_items"


@pytest.mark.parametrize("text, intent", [
    ("and where is order 10001?", "track_order"),  # an order intent keeps its own flow
    ("thanks, that's all", "thank_you"),
    ("how much will I get back", "check_refund_policy"),  # not worded as an addition
])
def test_other_messages_after_a_refund_are_left_to_the_rules(policy, domain, text, intent) -> None:
    t = tracker(domain, user("yes", "affirm"), refund_filed(), user(text, intent))
    assert predicted(policy, domain, t) is None


def refund_offered() -> List[Event]:
    return [ActionExecuted("action_request_refund"), BotUttered("I can request a refund of $34.50 ... Shall I go ahead?")]


@pytest.mark.parametrize("text, intent", [("just the carabiners", "place_order"), ("actually only the bottle", "complaint"),
                                          ("the water bottle", "complaint")])  # seen in a chat: got the apology
def test_an_item_named_alone_right_after_a_refund_offer_narrows_it(policy, domain, text, intent) -> None:
    # Seen in a chat: "just the carabiners" to the offer of order 10003's whole refund got how to place an order.
    t = tracker(domain, user("94110", "inform"), refund_offered(), user(text, intent))
    assert predicted(policy, domain, t) == "action_refund_more_items"
    # After the refund was filed there is nothing left to narrow.
    t = tracker(domain, user("yes", "affirm"), refund_filed(), user(text, intent))
    assert predicted(policy, domain, t) is None


def test_only_right_after_a_refund_and_not_in_a_form(policy, domain) -> None:
    added = user("and the carabiners too", "place_order")
    greeted = tracker(domain, user("hi", "greet"), [ActionExecuted("utter_greet"), BotUttered("Hi!")], added)
    in_form = tracker(domain, user("yes", "affirm"), refund_filed(), [ActiveLoop("order_form")], added)
    assert predicted(policy, domain, greeted) is None and predicted(policy, domain, in_form) is None


def test_after_its_question_it_waits_for_the_yes(policy, domain) -> None:
    t = tracker(domain, user("yes", "affirm"), refund_filed(), user("and the carabiners too", "place_order"),
                [ActionExecuted("action_refund_more_items", policy="AnotherItemPolicy"), BotUttered("Shall I?")])
    assert predicted(policy, domain, t) == "action_listen"


def test_bad_config_names_the_value(tmp_path) -> None:
    with pytest.raises(InvalidConfigException, match="'refund_actions'.*got \\[\\]"):
        make_policy(tmp_path, refund_actions=[])
    with pytest.raises(InvalidConfigException, match="0"):
        make_policy(tmp_path, priority=0)
