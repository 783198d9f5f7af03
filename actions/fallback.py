"""The polite fallback: says what went wrong, if we know, and what the assistant can do."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.nlu.message_guard import EMPTY, MESSAGE_PROBLEM, NO_WORDS, NOT_ENGLISH, TOO_LONG

CAPABILITIES = (
    "I can track an order, cancel it, start or check a refund, and answer questions about shipping, "
    "returns, payments and your account."
)
# contact_human_agent makes HandoffPolicy run action_handoff (a real live agent, not a phone number);
# a typed "yes" right after a message with this button counts as clicking it.
OFFER_HUMAN_BUTTONS = [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
# For a reply that asks "Would you like me to connect you with a support agent?" (as domain.yml's utter_delay).
CONNECT_BUTTONS = [
    {"title": "Yes, connect me", "payload": "/contact_human_agent"},
    {"title": "No, thanks", "payload": "/deny"},
]
# A request for the assistant to do what only a person can (refund an extra charge, change an account).
AGENT_CAN_DO_IT_TEXT = "I can't do that from this chat, but a support agent can. Would you like me to connect you with one?"
PROBLEM_TEXT = {
    EMPTY: "I didn't receive any text. Could you type your question?",
    NO_WORDS: "I can only read words, not emoji or symbols on their own. Could you tell me in words what you need?",
    TOO_LONG: "That message is too long for me to read. Could you say in a sentence or two what you need?",
    # In the customer's language too: they may not read the English (the facts are data/kb/contact.md's).
    NOT_ENGLISH: (
        "Sorry, I can only help in English, and so can our support team. "
        "Lo siento, solo puedo ayudar en inglés. Désolé, je ne peux vous aider qu'en anglais. "
        "Leider kann ich nur auf Englisch helfen."
    ),
}


class ActionFallback(Action):
    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        problem = (tracker.latest_message or {}).get(MESSAGE_PROBLEM)
        text = PROBLEM_TEXT.get(problem) or f"Sorry, I didn't quite understand that. {CAPABILITIES}"
        dispatcher.utter_message(text=text)
        return []
