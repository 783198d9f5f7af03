"""Rasa's Slack connector with a configurable Web API URL, retry de-duplication and routing of replies.

Listed in credentials.yml as ``bot.channels.slack.BrightbaySlackInput`` (name ``slack``, so the
request URL is ``/webhooks/slack/webhook``), configured from ``SLACK_TOKEN`` and
``SLACK_SIGNING_SECRET``. Over Rasa 3.6's ``SlackInput`` it adds:

* ``SLACK_API_URL`` (default ``https://slack.com/api/``): where ``chat.postMessage`` goes, so
  tests (and a proxy, if you need one) can stand in for Slack's Web API.
* Retries: Slack re-sends an event it thinks was not acknowledged (``X-Slack-Retry-Num``).
  Rasa only drops retries whose reason is ``http_timeout``; here every event id that was
  already accepted is acknowledged (``200``, ``X-Slack-No-Retry: 1``) without a second reply.
  A retry of an event this process never saw (another instance answered it) carries Slack's
  event id as its message id, and Rasa's processor, under the conversation lock, finds that
  message already stored and does not answer it twice (``bot/channels/message_ids.py``, as for
  the REST channel's ``message_id``); an event nobody stored is handled normally, so nothing is lost.
* A message whose turn fails (the tracker store down, say) gets ``NOT_HANDLED_TEXT``, asking the
  customer to send it again: Rasa answers Slack ``200`` either way, so Slack never re-sends it.
* URL verification answers ``{"challenge": ...}`` as Slack's documentation asks, after the
  signature check.
* Emails and phone numbers, which Slack wraps as ``<mailto:a@b.c|a@b.c>``, reach the assistant
  as typed (Rasa only unwraps http links), so the order check can read them.
* Replies to a conversation id built with ``conversation_granularity: channel`` or ``thread``
  (``user_channel[_thread]``) go to that channel and thread, so a live agent's message sent
  with ``get_output_channel().send_text_message(conversation_id, text)`` lands in the right place.

Signatures are Rasa's check: ``v0=HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")`` within
five minutes; anything else gets ``400`` and is not processed.
"""
from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.message_ids import run_turn_or_apologise

logger = logging.getLogger(__name__)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SEEN_EVENTS_KEPT = 2000


def slack_api_url() -> str:
    url = os.environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    return url if url.endswith("/") else url + "/"


class BrightbaySlackBot(SlackBot):
    """Rasa's Slack output with the Web API URL from ``SLACK_API_URL``."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=slack_api_url())

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        # A conversation id from conversation_granularity channel/thread: user_channel[_thread].
        if not self.slack_channel and "_" in channel:
            parts = channel.split("_")
            channel = parts[1]
            if len(parts) > 2 and not self.thread_id:
                kwargs.setdefault("thread_ts", parts[2])
        await super()._post_message(channel, **kwargs)


class BrightbaySlackInput(SlackInput):
    """Rasa's Slack input with the additions described in the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen_events: "OrderedDict[str, None]" = OrderedDict()

    @staticmethod
    def _sanitize_user_message(text: Text, uids_to_remove: Optional[List[Text]]) -> Text:
        # Slack sends "alice@example.com" as "<mailto:alice@example.com|alice@example.com>"; Rasa
        # only unwraps http(s) links. Unwrap mailto/tel/links to what the customer typed.
        text = re.sub(r"<(?:mailto:|tel:|https?://)[^|>]*\|([^>]*)>", r"\1", text)
        text = re.sub(r"<(?:mailto:|tel:)([^|>]*)>", r"\1", text)
        return SlackInput._sanitize_user_message(text, uids_to_remove)

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> OutputChannel:
        return BrightbaySlackBot(self.slack_token, channel or self.slack_channel, thread_id, self.proxy)

    def already_seen(self, event_id: str) -> bool:
        """Remembers ``event_id``; True when it had been accepted before."""
        if event_id in self._seen_events:
            self._seen_events.move_to_end(event_id)
            return True
        self._seen_events[event_id] = None
        while len(self._seen_events) > SEEN_EVENTS_KEPT:
            self._seen_events.popitem(last=False)
        return False

    @staticmethod
    def _event_id(body: Any) -> Optional[str]:
        """Slack's ``event_id`` of an Events API body, or None (interactive payloads have none)."""
        event_id = body.get("event_id") if isinstance(body, dict) else None
        return event_id if isinstance(event_id, str) and event_id else None

    async def process_message(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]], text: Text,
        sender_id: Optional[Text], metadata: Optional[Dict],
    ) -> Any:
        event_id = self._event_id(request.json if request.headers.get("content-type") == "application/json" else None)

        async def once_or_apology(message: UserMessage) -> None:
            # Rasa would log a failed turn and answer Slack 200, and Slack never sends the event again.
            message.message_id = event_id or message.message_id
            await run_turn_or_apologise(on_new_message, message, event_id, "Slack")

        return await super().process_message(request, once_or_apology, text, sender_id, metadata)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def verification_and_retries(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            if not self.is_request_from_slack_authentic(request):
                return None  # Rasa's handler answers 400
            if request.headers.get("content-type") != "application/json":
                return None
            try:
                body = request.json
            except Exception:
                return response.text("The body is not valid JSON.", status=400)
            if not isinstance(body, dict):
                return response.text("The body must be a JSON object.", status=400)
            if body.get("type") == "url_verification":
                return response.json({"challenge": body.get("challenge", "")})
            event_id = self._event_id(body)
            if event_id is not None and self.already_seen(event_id):
                return response.text("", status=200, headers={"X-Slack-No-Retry": "1"})
            return None

        return blueprint
