"""Rasa's REST channel with the request checked before the assistant sees it.

Rasa's own RestInput answers a JSON list with HTTP 500, puts a request without a
sender into one shared "default" conversation, and silently drops a message that
isn't text. This channel keeps the same URL and replies, and answers such
requests with HTTP 400 and a message saying what is wrong.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_CHARS = 20_000  # longer bodies are refused before NLU; the assistant itself handles long text politely


def payload_problem(payload: Any) -> Optional[Text]:
    """Why a webhook body cannot be processed, or None when it is fine."""
    if not isinstance(payload, dict):
        return "The body must be a JSON object like {\"sender\": \"customer-42\", \"message\": \"hello\"}."
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        return "'sender' must be a non-empty string that identifies the conversation."
    if len(sender) > MAX_SENDER_LENGTH:
        return f"'sender' must be at most {MAX_SENDER_LENGTH} characters."
    message = payload.get("message")
    if not isinstance(message, str):
        return "'message' must be a string (it may be empty)."
    if len(message) > MAX_MESSAGE_CHARS:
        return f"'message' must be at most {MAX_MESSAGE_CHARS} characters."
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' must be a JSON object when given."
    return None


class CheckedRestInput(RestInput):
    """`POST /webhooks/rest/webhook` with its body validated."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def reject_bad_payload(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            try:
                payload = request.json
            except Exception:  # sanic raises its own error type for unparsable JSON
                payload = None
                problem = "The body is not valid JSON."
            else:
                problem = payload_problem(payload)
            if problem:
                return response.json({"error": problem}, status=400)
            return None

        return blueprint

    def get_metadata(self, request: Request) -> Optional[dict]:
        return request.json.get("metadata")
