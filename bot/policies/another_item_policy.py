"""AnotherItemPolicy: "and the carabiners too" right after a refund asks about refunding that item as well;
"just the carabiners" right after a refund offer asks about refunding that item only.

After a refund was offered or filed for some lines of an order, the customer often names the next line
without a verb: "and the carabiners too", "the cable as well". On its own such a message reads as
`place_order` ("the carabiners as well please", 0.92) or `complaint`, and was answered with how to place
an order. Right after a refund action, a message worded as an addition ("and ...", "also ...", "... too",
"... as well") whose intent is one of ``intents`` goes to ``action_refund_more_items``, which offers the
refund of the lines it names (or asks which), so the existing "yes" rule files it.

Like FollowUpPolicy it has nothing to learn, predicts with confidence 1.0 and sits above RulePolicy and
below HandoffPolicy.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.parsing import is_narrowing
from bot.policies.untrained import OneActionPolicy, bot_turn_before_latest_message

# Same as FollowUpPolicy's: above RulePolicy (4), below HandoffPolicy (6). The two never fire on the same
# turn: one needs a help-center answer just before, the other a refund action.
ANOTHER_ITEM_POLICY_PRIORITY = 5
_ADDITION = re.compile(r"^\s*(?:and|also|plus)\b|\b(?:too|as well|also)\b(?:\W+please)?\W*$", re.IGNORECASE)


def is_addition(text: Text) -> bool:
    """"and the carabiners too", "also the cable", "the lamp as well"."""
    return bool(_ADDITION.search(text))


def _previous_bot_action(tracker: DialogueStateTracker) -> Optional[Text]:
    """The last action before the latest user message, other than listening."""
    actions = [e.action_name for e in bot_turn_before_latest_message(tracker)
               if isinstance(e, ActionExecuted) and e.action_name != ACTION_LISTEN_NAME]
    return actions[-1] if actions else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class AnotherItemPolicy(OneActionPolicy):
    """Sends "and the X too" after a refund to the action that offers refunding X as well."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # beats RulePolicy (4) and loses to HandoffPolicy (6) on equal confidence.
            "priority": ANOTHER_ITEM_POLICY_PRIORITY,
            # the actions after which an addition means another item to refund.
            "refund_actions": ["action_request_refund", "action_confirm_refund"],
            # intents an item named on its own is read as; order and yes/no intents keep their own flows.
            "intents": ["place_order", "complaint", "review", "out_of_scope", "nlu_fallback", "inform",
                        "check_refund_policy", "change_order"],
            # the action that offers the refund of the lines the message names.
            "item_action": "action_refund_more_items",
            # the actions after which "just the carabiners" narrows the refund just offered to those lines.
            "offer_actions": ["action_request_refund"],
        }

    @classmethod
    def check_config(cls, config: Dict[Text, Any]) -> None:
        super().check_config(config)
        cls.check_names(config, "refund_actions")
        cls.check_names(config, "intents")
        cls.check_names(config, "offer_actions", allow_empty=True)
        action = config.get("item_action")
        if not isinstance(action, str) or not action:
            raise InvalidConfigException(f"AnotherItemPolicy: 'item_action' must be an action name, got {action!r}")

    @property
    def action_name(self) -> Text:
        return self.config["item_action"]

    def applies(self, tracker: DialogueStateTracker) -> bool:
        """True right after a refund action, for an addition read as one of ``intents``."""
        message = self.message_to_answer(tracker)
        if not message:
            return False
        previous = _previous_bot_action(tracker)
        if is_narrowing(message.text):
            # "just the carabiners" to "I can request a refund of $34.50 ... Shall I go ahead?".
            return previous in self.config["offer_actions"]
        return is_addition(message.text or "") and previous in self.config["refund_actions"]

    @classmethod
    def _metadata_filename(cls) -> Optional[Text]:
        return "another_item_policy"
