"""Rasa's REST channel with the request checked before the assistant sees it.

Rasa's own RestInput answers a JSON list with HTTP 500, puts a request without a
sender into one shared "default" conversation, and silently drops a message that
isn't text. This channel keeps the same URL and replies, and answers such
requests with HTTP 400 and a message saying what is wrong.
"""
from __future__ import annotations

import contextvars
import logging
import os
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import rasa.core.actions.action
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.lock_store import LockError
from sanic import Blueprint, response
from sanic.request import Request

from bot import rasa_tuning
from bot.channels.message_ids import run_turn_once

rasa_tuning.install()
logger = logging.getLogger(__name__)

# Rasa waits 5 minutes for the action server; a customer should not.
ACTION_TIMEOUT_S = float(os.environ.get("ACTION_TIMEOUT_S", "20"))
rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT_S  # read by RemoteAction.run at call time

UNAVAILABLE = (
    "The assistant is briefly unavailable. Please try again in a few seconds."
)
ACTION_FAILED = (
    "Sorry, something went wrong on my side and I couldn't finish that. "
    "Would you like to talk to a person from our support team?"
)
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}

# The actions that failed during the current request (set per request by the channel).
_failed_actions: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("brightbay_failed_actions", default=None)


class _ActionFailureRecorder(logging.Filter):
    """Notes Rasa's "exception while running action" log of the current request.

    Rasa's processor logs a failed custom action (action server down or timed out)
    and carries on without its events; the channel then apologises and offers a person.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        failed = _failed_actions.get()
        if failed is not None and record.levelno >= logging.ERROR and "while running action" in record.getMessage():
            failed.append(record.getMessage().split("'")[1] if "'" in record.getMessage() else "?")
        return True


_processor_logger = logging.getLogger("rasa.core.processor")
if not any(isinstance(f, _ActionFailureRecorder) for f in _processor_logger.filters):
    _processor_logger.addFilter(_ActionFailureRecorder())


def is_store_error(error: BaseException) -> bool:
    """Errors of the tracker store (SQL) or the lock store (Redis): the service is unavailable."""
    import redis.exceptions
    import sqlalchemy.exc

    return isinstance(
        error,
        (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError,
         sqlalchemy.exc.TimeoutError, LockError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
         ConnectionError),
    )

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_CHARS = 20_000  # longer bodies are refused before NLU; the assistant itself handles long text politely


MAX_MESSAGE_ID_LENGTH = 128


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
    message_id = payload.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and 0 < len(message_id.strip()) <= MAX_MESSAGE_ID_LENGTH):
        return f"'message_id' must be a non-empty string of at most {MAX_MESSAGE_ID_LENGTH} characters when given."
    return None


class CheckedRestInput(RestInput):
    """`POST /webhooks/rest/webhook` with its body validated and its failures explained.

    - a malformed body: HTTP 400 with the reason;
    - the tracker store (PostgreSQL) or lock store (Redis) unreachable: HTTP 503 with a
      short JSON error and a ``Retry-After`` header, never a traceback;
    - a custom action that failed (action server down or too slow): the replies so far
      plus an apology with a "Talk to a person" button;
    - an optional client ``message_id`` makes a turn idempotent: a message whose id is already
      stored in the conversation is not run again, its stored replies are returned. nginx retries
      a POST on another instance when the first dies, and an instance can die after saving the
      turn but before answering; without the id that turn would run twice. The check runs in
      Rasa's processor under the conversation lock (`bot/channels/message_ids.py`), so a retry sent
      while the first try is still running is caught too.
    """

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            try:
                payload = request.json
            except Exception:  # sanic raises its own error type for unparsable JSON
                return response.json({"error": "The body is not valid JSON."}, status=400)
            problem = payload_problem(payload)
            if problem:
                return response.json({"error": problem}, status=400)

            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            metadata = self.get_metadata(request)
            input_channel = self._extract_input_channel(request)
            if request.args.get("stream", "false").lower() == "true":
                return response.stream(
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            message_id = payload.get("message_id")
            collector = CollectingOutputChannel()
            failed: List[str] = []
            token = _failed_actions.set(failed)
            try:
                earlier = await run_turn_once(
                    on_new_message,
                    UserMessage(text, collector, sender_id, input_channel=input_channel, message_id=message_id, metadata=metadata),
                    message_id,
                )
                if earlier is not None:
                    logger.info("Message %s of %s was already handled: sending its replies again", message_id, sender_id)
                    return response.json(earlier)
            except CancelledError:
                logger.error("The turn of %s was cancelled (timeout)", sender_id)
                return unavailable("timeout")
            except Exception as error:  # noqa: BLE001 - every failure gets a clear answer
                if is_store_error(error):
                    logger.error("Conversation store unavailable for %s: %s", sender_id, str(error).splitlines()[0])
                    return unavailable("store")
                logger.exception("The turn of %s failed", sender_id)
                return response.json({"error": "The assistant could not process this message."}, status=500)
            finally:
                _failed_actions.reset(token)
            messages: List[Dict[str, Any]] = list(collector.messages)
            if failed:
                logger.warning("Custom action(s) %s failed for %s: apologising", failed, sender_id)
                messages.append({"recipient_id": sender_id, "text": ACTION_FAILED, "buttons": [HUMAN_BUTTON]})
            return response.json(messages)

        return webhook

    def get_metadata(self, request: Request) -> Optional[dict]:
        return request.json.get("metadata")


def unavailable(reason: str) -> response.HTTPResponse:
    return response.json({"error": UNAVAILABLE, "reason": reason}, status=503, headers={"Retry-After": "2"})
