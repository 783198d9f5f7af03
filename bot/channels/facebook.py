"""Rasa's Messenger connector with a configurable Graph API URL and stricter webhook checks.

Listed in credentials.yml as ``bot.channels.facebook.BrightbayFacebookInput`` (name ``facebook``,
so the callback URL is ``/webhooks/facebook/webhook``), configured from ``FB_VERIFY``,
``FB_SECRET`` and ``FB_PAGE_ACCESS_TOKEN``. Over Rasa 3.6's ``FacebookInput``:

* ``FB_GRAPH_URL`` (default ``https://graph.facebook.com/v<fbmessenger's version>``): where the
  Send API calls go, so tests can stand in for the Graph API. Calls carry ``appsecret_proof``.
* Send API calls are queued and posted off the event loop, in order per customer, with a timeout
  (``FB_SEND_TIMEOUT_S``, default 10; ``bot.channels.graph_send_queue``): Rasa's client posted
  them with blocking ``requests`` and no timeout, holding every conversation of the server.
* ``POST /webhook`` checks ``X-Hub-Signature-256`` (``sha256=HMAC(app secret, body)``), or
  ``X-Hub-Signature`` (``sha1=...``) when only that is sent, and answers ``403`` to a missing or
  wrong signature (Rasa answers ``200 "not validated"``). A valid event is acknowledged at once
  and handled in the background, as Meta expects an answer within seconds.
* A process that is stopped (SIGTERM, a deploy) first answers the events it already acknowledged
  and sends their queued replies (at most 10 s + 5 s): Meta would not deliver them again.
* One that is killed (SIGKILL) loses nothing either: each event is kept in the webhook inbox
  (``bot.channels.webhook_inbox``: Redis with ``REDIS_URL``, else SQLite) before it is acknowledged,
  until its turn is done, and a live process answers what a dead one left.
* ``GET /webhook`` (the verification handshake) needs ``hub.mode=subscribe`` and the right
  ``hub.verify_token``, answers ``hub.challenge``, and ``403`` otherwise.
* Every message of a webhook is answered: Meta batches several messages (of one or several
  people) into one call, and Rasa's handler answered the first and dropped the rest. Echoes of
  the page's own replies and delivery/read receipts are skipped; one malformed event does not
  stop the others.
* A message's ``mid`` is its Rasa message id, checked under the conversation lock
  (``bot.channels.message_ids``): a webhook Meta delivers again, to this instance or another, is
  not answered twice.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from fbmessenger import MessengerClient
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.graph_send_queue import GraphSendQueue
from bot.channels.message_ids import run_turn_or_apologise
from bot.channels.webhook_inbox import WebhookInbox, WebhookInboxError, inbox_from_env
from bot.paths import VAR_DIR

logger = logging.getLogger(__name__)


# One per process, shared by every client: Send API calls leave the event loop (graph_send_queue).
SEND_QUEUE = GraphSendQueue(timeout_s=float(os.environ.get("FB_SEND_TIMEOUT_S", "10")))
# On shutdown: how long acknowledged events' turns, then their queued replies, may still take.
SHUTDOWN_TURNS_S = 10.0
SHUTDOWN_SEND_S = 5.0


class GraphClient(MessengerClient):
    """fbmessenger's client with the Graph API URL from ``FB_GRAPH_URL``, sending through ``SEND_QUEUE``."""

    def __init__(self, page_access_token: Text, app_secret: Optional[Text] = None,
                 send_queue: GraphSendQueue = SEND_QUEUE) -> None:
        super().__init__(page_access_token, app_secret=app_secret or None)
        override = os.environ.get("FB_GRAPH_URL")
        if override:
            self.graph_url = override.rstrip("/")
        self.send_queue = send_queue

    def send(self, payload: Dict[Text, Any], recipient_id: Text, messaging_type: Text = "RESPONSE",
             notification_type: Text = "REGULAR", timeout: Any = None, tag: Optional[Text] = None) -> Dict[Text, Any]:
        """Queues the message (fbmessenger's body); returns at once, with no Send API answer."""
        if messaging_type not in self.MESSAGING_TYPES or notification_type not in self.NOTIFICATION_TYPES:
            raise ValueError(f"not a Send API messaging/notification type: {messaging_type!r}, {notification_type!r}")
        body: Dict[Text, Any] = {"messaging_type": messaging_type, "notification_type": notification_type,
                                 "recipient": {"id": recipient_id}, "message": payload}
        if tag:
            body["tag"] = tag
        return self._queue(recipient_id, body)

    def send_action(self, sender_action: Text, recipient_id: Text, timeout: Any = None) -> Dict[Text, Any]:
        return self._queue(recipient_id, {"recipient": {"id": recipient_id}, "sender_action": sender_action})

    def _queue(self, recipient_id: Text, body: Dict[Text, Any]) -> Dict[Text, Any]:
        self.send_queue.submit(recipient_id, f"{self.graph_url}/me/messages", self.auth_args, body)
        return {}  # fbmessenger returned the Send API's answer; nobody in Rasa reads it


def signature_valid(app_secret: Text, body: bytes, headers: Any) -> bool:
    """X-Hub-Signature-256 when present, else X-Hub-Signature; constant-time compare."""
    for header, method, digest in (("X-Hub-Signature-256", "sha256", hashlib.sha256),
                                   ("X-Hub-Signature", "sha1", hashlib.sha1)):
        value = headers.get(header)
        if value:
            expected = f"{method}=" + hmac.new(app_secret.encode("utf-8"), body, digest).hexdigest()
            return hmac.compare_digest(expected, value.strip())
    return False


class BrightbayMessenger(Messenger):
    """Rasa's Messenger event handler over every event of a (batched) webhook, once per ``mid``.

    One object per webhook call and a copy per sender, so ``last_message`` (the event being
    handled, which Rasa's methods read the sender from) is never shared between turns.
    """

    async def handle(self, payload: Dict[Text, Any], metadata: Optional[Dict[Text, Any]]) -> None:
        """Each sender's events in order; different senders side by side (a slow turn delays only its own)."""
        by_sender: Dict[Text, List[Dict[Text, Any]]] = {}
        for entry in payload.get("entry") or []:
            events = entry.get("messaging") if isinstance(entry, dict) else None
            for event in events if isinstance(events, list) else []:
                sender = event.get("sender") if isinstance(event, dict) else None
                sender_id = sender.get("id") if isinstance(sender, dict) else None
                if isinstance(sender_id, (str, int)) and str(sender_id):
                    by_sender.setdefault(str(sender_id), []).append(event)
                else:
                    logger.warning("Messenger event without a sender id skipped")
        await asyncio.gather(*(copy.copy(self)._handle_events(events, metadata) for events in by_sender.values()))

    async def _handle_events(self, events: List[Dict[Text, Any]], metadata: Optional[Dict[Text, Any]]) -> None:
        for event in events:
            self.last_message = event
            try:
                if isinstance(event.get("message"), dict):
                    if not event["message"].get("is_echo"):  # echoes are the page's own replies
                        await self.message(event, metadata)
                elif isinstance(event.get("postback"), dict):
                    await self.postback(event, metadata)
                # delivery, read and reaction receipts: nothing to answer
            except Exception:
                logger.exception("Messenger event %s could not be handled", self._message_id(event))

    @staticmethod
    def _message_id(event: Dict[Text, Any]) -> Optional[Text]:
        """The event's ``mid`` (messages and, in current Graph API versions, postbacks), or None."""
        for key in ("message", "postback"):
            part = event.get(key)
            mid = part.get("mid") if isinstance(part, dict) else None
            if isinstance(mid, str) and mid:
                return mid
        return None

    async def _handle_user_message(self, text: Text, sender_id: Text, metadata: Optional[Dict[Text, Any]]) -> None:
        message_id = self._message_id(self.last_message)
        out_channel = MessengerBot(self.client)
        await out_channel.send_action(sender_id, sender_action="mark_seen")
        await out_channel.send_action(sender_id, sender_action="typing_on")
        message = UserMessage(text, out_channel, sender_id, input_channel=self.name(), metadata=metadata,
                              message_id=message_id)
        try:
            # Meta does not deliver an acknowledged event again: a failed turn gets an apology.
            await run_turn_or_apologise(self.on_new_message, message, message_id, "Messenger")
        finally:
            await out_channel.send_action(sender_id, sender_action="typing_off")


class BrightbayFacebookInput(FacebookInput):
    """Rasa's Messenger input with the changes described in the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "facebook"

    def __init__(self, fb_verify: Text, fb_secret: Text, fb_access_token: Text,
                 inbox: Optional[WebhookInbox] = None) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self._tasks: Set[asyncio.Task] = set()
        self._watch: Optional[asyncio.Task] = None  # the inbox check, from server start to stop
        self.inbox = inbox or inbox_from_env(self.name(), dict(os.environ), VAR_DIR / "webhook_inbox.sqlite")

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
            try:
                key: Optional[Text] = await self.inbox.add(payload)
            except WebhookInboxError:
                # Still answered; only a kill of this process before the answer would lose it.
                logger.exception("Messenger event not kept in the webhook inbox")
                key = None
            self._answer(on_new_message, payload, self.get_metadata(request), key)
            return response.text("success")

        @fb_webhook.listener("after_server_start")
        async def answer_what_dead_processes_left(_: Any, loop: asyncio.AbstractEventLoop) -> None:
            self._watch = asyncio.create_task(self._watch_inbox(on_new_message))

        @fb_webhook.listener("before_server_stop")
        async def finish_acknowledged_events(_: Any, loop: asyncio.AbstractEventLoop) -> None:
            if self._watch is not None:
                self._watch.cancel()
            # Meta does not send an acknowledged event again: answer what is in hand before exiting.
            if self._tasks:
                logger.info("Answering %d Messenger event(s) before stopping", len(self._tasks))
                _, unfinished = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_TURNS_S)
                if unfinished:
                    logger.error("%d Messenger event(s) unanswered at shutdown", len(unfinished))
            if not await loop.run_in_executor(None, SEND_QUEUE.drain, SHUTDOWN_SEND_S):
                logger.error("Messenger replies still queued at shutdown were not sent")
            # What is still unanswered stays in the inbox; another process takes it at its next check.
            await self.inbox.stop()

        return fb_webhook

    def _answer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], payload: Dict[Text, Any],
                metadata: Optional[Dict[Text, Any]], inbox_key: Optional[Text]) -> None:
        """Answers the webhook's events in the background, then forgets them in the inbox."""
        messenger = BrightbayMessenger(self.fb_access_token, on_new_message)
        messenger.client = self.client()
        task = asyncio.create_task(self._handle(messenger, payload, metadata, inbox_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, messenger: BrightbayMessenger, payload: Dict[Text, Any],
                      metadata: Optional[Dict[Text, Any]], inbox_key: Optional[Text]) -> None:
        try:
            await messenger.handle(payload, metadata)
        except Exception:
            logger.exception("Messenger event could not be handled")
        if inbox_key is not None:
            await self.inbox.remove(inbox_key)

    async def _watch_inbox(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Beats, and answers the events of processes that died, every ``check_every_s`` until the server stops."""
        while True:
            try:
                await self.inbox.beat()
                for event in await self.inbox.adopt_orphans():
                    self._answer(on_new_message, event.payload, None, event.key)
            except WebhookInboxError:
                logger.exception("the Messenger webhook inbox could not be checked")
            except Exception:  # the watch must outlive any one bad round
                logger.exception("the Messenger webhook inbox check failed")
            await asyncio.sleep(self.inbox.check_every_s)
