"""Rasa's Messenger connector with a configurable Graph API URL and stricter webhook checks.

Listed in credentials.yml as ``bot.channels.facebook.BrightbayFacebookInput`` (name ``facebook``,
so the callback URL is ``/webhooks/facebook/webhook``), configured from ``FB_VERIFY``,
``FB_SECRET`` and ``FB_PAGE_ACCESS_TOKEN``. Over Rasa 3.6's ``FacebookInput``:

* ``FB_GRAPH_URL`` (default ``https://graph.facebook.com/v<fbmessenger's version>``): where the
  Send API calls go, so tests can stand in for the Graph API. Calls carry ``appsecret_proof``.
* ``POST /webhook`` checks ``X-Hub-Signature-256`` (``sha256=HMAC(app secret, body)``), or
  ``X-Hub-Signature`` (``sha1=...``) when only that is sent, and answers ``403`` to a missing or
  wrong signature (Rasa answers ``200 "not validated"``). A valid event is acknowledged at once
  and handled in the background, as Meta expects an answer within seconds.
* ``GET /webhook`` (the verification handshake) needs ``hub.mode=subscribe`` and the right
  ``hub.verify_token``, answers ``hub.challenge``, and ``403`` otherwise.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text

from fbmessenger import MessengerClient
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


class GraphClient(MessengerClient):
    """fbmessenger's client with the Graph API URL from ``FB_GRAPH_URL``."""

    def __init__(self, page_access_token: Text, app_secret: Optional[Text] = None) -> None:
        super().__init__(page_access_token, app_secret=app_secret or None)
        override = os.environ.get("FB_GRAPH_URL")
        if override:
            self.graph_url = override.rstrip("/")


def signature_valid(app_secret: Text, body: bytes, headers: Any) -> bool:
    """X-Hub-Signature-256 when present, else X-Hub-Signature; constant-time compare."""
    for header, method, digest in (("X-Hub-Signature-256", "sha256", hashlib.sha256),
                                   ("X-Hub-Signature", "sha1", hashlib.sha1)):
        value = headers.get(header)
        if value:
            expected = f"{method}=" + hmac.new(app_secret.encode("utf-8"), body, digest).hexdigest()
            return hmac.compare_digest(expected, value.strip())
    return False


class BrightbayFacebookInput(FacebookInput):
    """Rasa's Messenger input with the changes described in the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, fb_verify: Text, fb_secret: Text, fb_access_token: Text) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self._tasks: Set[asyncio.Task] = set()

    def client(self) -> GraphClient:
        return GraphClient(self.fb_access_token, self.fb_secret)

    def get_output_channel(self) -> OutputChannel:
        return MessengerBot(self.client())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        fb_webhook = Blueprint("fb_webhook", __name__)

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            token = request.args.get("hub.verify_token") or ""
            if (request.args.get("hub.mode") == "subscribe" and self.fb_verify
                    and hmac.compare_digest(token.encode(), str(self.fb_verify).encode())):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Messenger verification refused: wrong hub.mode or hub.verify_token")
            return response.text("invalid verification request", status=403)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not signature_valid(self.fb_secret, request.body, request.headers):
                logger.warning("Messenger event with a missing or wrong signature refused")
                return response.text("invalid signature", status=403)
            try:
                payload = request.json
            except Exception:
                payload = None
            if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
                return response.text("not a Messenger event", status=400)
            messenger = Messenger(self.fb_access_token, on_new_message)
            messenger.client = self.client()
            task = asyncio.create_task(self._handle(messenger, payload, self.get_metadata(request)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.text("success")

        return fb_webhook

    @staticmethod
    async def _handle(messenger: Messenger, payload: Dict[Text, Any], metadata: Optional[Dict[Text, Any]]) -> None:
        try:
            await messenger.handle(payload, metadata)
        except Exception:
            logger.exception("Messenger event could not be handled")
