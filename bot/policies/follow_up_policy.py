"""FollowUpPolicy: a follow-up question to a help-center answer goes back to the help center.

"do you price match?" is answered from the help center; "what about if it drops on your own
site?" reads, on its own, like a complaint (0.81), and the complaint rule would answer it with the
complaint reply. Right after a grounded help-center answer, a message worded as a follow-up
question ("and ...?", "what about ...", "how about ...", "what if ...") whose intent has its own
canned reply (complaint, review, change_order, payment_issue, place_order) is sent to
``action_answer_question`` instead, which reads it with the earlier turns and answers from the
passage they lead to; when the help center has nothing, that action sends the intent's own
response (``FALLBACK_RESPONSES`` in ``actions/answers.py``), so nothing is lost by asking first.
A "how do I ...?" right after such an answer goes there too when read as one of ``how_to_intents``
("how do i make a claim" after the warranty answer reads as a complaint, 0.98); not for change_order,
whose "how do I change my order?" the help center would answer with the address change. So does a
message saying the answer didn't settle it ("i did that but still get them" after the unsubscribe
answer) when read as one of ``did_not_help_intents``.

Like HandoffPolicy it has nothing to learn. It predicts with confidence 1.0 and a priority above
RulePolicy's and below HandoffPolicy's, so an angry or explicit request still goes to a person.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.untrained import OneActionPolicy, bot_turn_before_latest_message

# RulePolicy has 4 and HandoffPolicy 6: a rule's canned reply loses, a handoff wins.
FOLLOW_UP_POLICY_PRIORITY = 5
ANSWER_ACTION = "action_answer_question"
# Wordings that only make sense as a question about what was just answered.
_OPEN_CUE = re.compile(r"^\s*(what about|how about|what if|and if|but what if|same (for|with))\b", re.IGNORECASE)
_JOINING_CUE = re.compile(r"^\s*(and|but|or|also|then|so)\b", re.IGNORECASE)
# "how do i make a claim", "so where do I send the photo?": asks for the steps of what was just answered.
_HOW_TO = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|so|and|then|right)[\s,]+)*(?:how|where) (?:do|can|should|would|will) (?:i|we)\b", re.IGNORECASE
)


# "i did that but still get them", "tried that already", "it still doesn't work": the answer just given didn't
# settle it. The help center may have the next step (seen in a chat: the complaint apology, "Please tell me what
# happened", right after the unsubscribe answer).
_DID_NOT_HELP = re.compile(
    r"\b(?:did|tried|done|followed) (?:that|it|this|those|the steps)\b.*\bstill\b|\b(?:already|just) (?:did|tried|done)\b"
    r"|\b(?:tried|did) (?:that|it|this) already\b|\bstill (?:get|getting|receiv\w*|not|doesn'?t|does not|don'?t|can'?t|"
    r"won'?t|no)\b|\b(?:didn'?t|did not|doesn'?t|does not) (?:work|help)\b",
    re.IGNORECASE,
)


def says_it_did_not_help(text: Text) -> bool:
    """"i did that but still get them", "tried that already", "it still doesn't work"."""
    return bool(_DID_NOT_HELP.search(text))


def is_follow_up_question(text: Text) -> bool:
    """"what about ...", "what if ...", or "and/but/also ...?" asked as a question."""
    return bool(_OPEN_CUE.search(text) or (_JOINING_CUE.search(text) and text.rstrip().endswith("?")))


def is_how_to_question(text: Text) -> bool:
    """"how do i make a claim", "ok where can I send the photo?"."""
    return bool(_HOW_TO.search(text))


def _answered_from_help_center(tracker: DialogueStateTracker, answer_action: Text) -> bool:
    """Whether the bot's turn just before the latest user message was a grounded help-center answer."""
    for event in reversed(bot_turn_before_latest_message(tracker)):
        if isinstance(event, BotUttered):
            return bool(((event.metadata or {}).get("kb_answer") or {}).get("grounded"))
        if isinstance(event, ActionExecuted) and event.action_name not in (ACTION_LISTEN_NAME, answer_action):
            return False
    return False


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class FollowUpPolicy(OneActionPolicy):
    """Sends follow-up questions to a help-center answer back to the help center."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # beats RulePolicy (4) and loses to HandoffPolicy (6) on equal confidence.
            "priority": FOLLOW_UP_POLICY_PRIORITY,
            # intents with a canned reply of their own, which a follow-up question is often mistaken for.
            # ("what about walmart" after the price-match answer reads as place_order, 0.66.)
            "intents": ["complaint", "review", "change_order", "payment_issue", "place_order"],
            # the intents whose "how do I ...?" (no follow-up cue) goes back to the help center too ([]: none).
            "how_to_intents": ["complaint", "review", "payment_issue"],
            # the intents whose "i did that but it still..." goes back to the help center too ([]: none).
            "did_not_help_intents": ["complaint", "payment_issue"],
            # the action that answers from the help center (and falls back to the intent's response).
            "answer_action": ANSWER_ACTION,
        }

    @classmethod
    def check_config(cls, config: Dict[Text, Any]) -> None:
        super().check_config(config)
        cls.check_names(config, "intents")
        cls.check_names(config, "how_to_intents", allow_empty=True)
        cls.check_names(config, "did_not_help_intents", allow_empty=True)
        action = config.get("answer_action")
        if not isinstance(action, str) or not action:
            raise InvalidConfigException(f"FollowUpPolicy: 'answer_action' must be an action name, got {action!r}")

    @property
    def answer_action(self) -> Text:
        return self.config["answer_action"]

    @property
    def action_name(self) -> Text:
        return self.answer_action

    def applies(self, tracker: DialogueStateTracker) -> bool:
        """True right after a customer's follow-up question to a help-center answer, read as one of ``intents``."""
        message = self.message_to_answer(tracker)
        if not message:
            return False
        text = message.text or ""
        intent = message.intent.get("name")
        asked = (is_follow_up_question(text) or (intent in self.config["how_to_intents"] and is_how_to_question(text))
                 or (intent in self.config["did_not_help_intents"] and says_it_did_not_help(text)))
        return asked and _answered_from_help_center(tracker, self.answer_action)

    @classmethod
    def _metadata_filename(cls) -> Optional[Text]:
        return "follow_up_policy"
