"""action_ask_csat asks for the customer's 1-5 rating once per session; action_csat_save stores it as
soon as it is given, then their comment.

The rating arrives as a button payload (``/inform{"csat_score": 4}``) after ``utter_ask_csat``;
the rule runs this action, which writes a ``csat_ratings`` row right away (a customer who
closes the window instead of commenting still counts), and ``csat_form`` asks for an optional
comment. When the form completes the action runs again and adds the comment to the same row.
Skipping the rating writes nothing: no row and no ``csat_score`` slot means "no rating".
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.csat import CsatStore, clean_comment, parse_score

logger = logging.getLogger(__name__)

SCORE_SLOT, COMMENT_SLOT, RATING_ID_SLOT, ASKED_SLOT = "csat_score", "csat_comment", "csat_rating_id", "csat_asked"
THANKS_TEXT = "Thank you for your feedback!"
INVALID_TEXT = "Ratings go from 1 to 5, so I haven't saved that one."


class ActionAskCsat(Action):
    """Asks for the 1-5 rating, once per session: a customer who says "thanks" and later "bye" is asked once.

    The rules skip it once ``csat_asked`` is set; the check here covers paths no rule foresaw.
    """

    def name(self) -> Text:
        return "action_ask_csat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if not tracker.get_slot(ASKED_SLOT):
            dispatcher.utter_message(response="utter_ask_csat")
        return [SlotSet(ASKED_SLOT, True)]


def _agent_handled(tracker: Tracker) -> bool:
    return any(e.get("event") == "action" and e.get("name") == "action_handoff" for e in tracker.events)


class ActionCsatSave(Action):
    def __init__(self, store: Optional[CsatStore] = None) -> None:
        self._store = store

    def name(self) -> Text:
        return "action_csat_save"

    @property
    def store(self) -> CsatStore:
        if self._store is None:
            self._store = CsatStore()
        return self._store

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        rating_id = tracker.get_slot(RATING_ID_SLOT)
        comment_given = tracker.get_slot(COMMENT_SLOT) is not None
        try:
            if rating_id is not None and comment_given:  # the form finished: the comment, if any
                comment = clean_comment(tracker.get_slot(COMMENT_SLOT))
                if comment:
                    await asyncio.to_thread(self.store.set_comment, int(rating_id), tracker.sender_id, comment)
                dispatcher.utter_message(text=THANKS_TEXT)
                return [SlotSet(RATING_ID_SLOT, None)]
            if comment_given:  # the form finished without a valid rating: nothing to store
                dispatcher.utter_message(text=THANKS_TEXT)
                return []
            score = parse_score(tracker.get_slot(SCORE_SLOT))
            if score is None:
                dispatcher.utter_message(text=INVALID_TEXT)
                return [SlotSet(SCORE_SLOT, None)]
            new_id = await asyncio.to_thread(
                self.store.add, tracker.sender_id, score, tracker.get_latest_input_channel(), _agent_handled(tracker)
            )
            return [SlotSet(SCORE_SLOT, float(score)), SlotSet(RATING_ID_SLOT, new_id), SlotSet(COMMENT_SLOT, None)]
        except Exception:  # a rating is never worth an error message to the customer
            logger.exception("could not store the rating of conversation %s", tracker.sender_id)
            if comment_given:
                dispatcher.utter_message(text=THANKS_TEXT)
            return []
