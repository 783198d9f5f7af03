"""Rasa's socket.io channel for the website widget (web/), with three fixes and two routes.

Listed in credentials.yml as ``bot.channels.socketio.WidgetSocketIOInput``; its name stays
``socketio`` so conversations, ``output_channel=socketio`` and the socket path
(``/socket.io``) are Rasa's.

Fixes over Rasa 3.6's ``SocketIOInput``:

* ``session_request`` awaits ``sio.enter_room``: python-socketio 5 made it a coroutine and
  Rasa calls it without ``await``, so with ``session_persistence`` the socket never joined
  the session's room and no bot message (and no pushed agent message) reached the widget.
* ``send_custom_json`` emits ``{"custom": {...}}`` on the bot event. Rasa's version passes the
  custom dict as keyword arguments to ``sio.emit``, which fails for anything but
  ``{"data": ...}``. The widget reads the handoff marker from ``custom`` (see below).
* The socket's session id is checked (letters, digits, ``-``/``_``, 16 to 128 characters) so
  a widget cannot join or write into a conversation with a short guessable id (a REST or
  Slack conversation, say).

Several instances: with ``REDIS_URL`` set (or ``redis_url`` in the channel's credentials), the
socket.io server shares emits over Redis pub/sub (python-socketio's ``AsyncRedisManager``, channel
``brightbay-socketio``), so a bot or agent message for a widget whose socket is held by another
Rasa instance still reaches it (a live agent's reply sent through one instance, say). Each emit is
delivered to this instance's sockets first and then published, so with Redis down local sockets
still get their messages. The load balancer must keep a long-polling session (the requests that
carry its engine.io ``sid``, its upgrade included) on one instance; a new websocket may go anywhere
(``bot/deploy.py``'s nginx config).

Messages sent twice: the widget gives each message a ``message_id`` and resends it after a
reconnect until the server acknowledges it (the handler's return value is the socket.io ack, sent
when the turn is done). The id is checked under the conversation lock (``bot.channels.message_ids``),
so a resend of a message that was handled is acknowledged, not run again. A turn that fails (the
tracker store down, say) is acknowledged with ``{"error": "unavailable", "retry_after_s": 3}``
instead of no answer at all; the widget keeps the message and sends it again, backing off.

Routes:

* ``GET /chat/`` the demo store page with the widget, served from ``build/web`` (``make web-build``
  copies ``web/`` and socket.io-client's bundle from ``node_modules`` there; ``WEB_DIR`` overrides).
* ``GET /webhooks/socketio/history/<session_id>`` the user and bot texts of that one socket.io
  conversation, for the widget to show after a page reload. It answers only for a conversation
  whose messages came in over socket.io and only with its own texts; the session id (a random
  128-bit value held in the browser's localStorage) is the capability, like a session cookie.

Handoff marker (for the live-agent feature): a bot message whose custom payload is
``{"handoff": "started", "agent": "<optional display name>"}`` switches the widget to
"You are now chatting with a support agent"; ``{"handoff": "ended"}`` switches back. Emit it with
``dispatcher.utter_message(json_message={"handoff": "started"})`` in an action, a response with
``custom: {handoff: started}``, or ``await output.send_custom_json(sender_id, handoff_marker("started"))``
on the conversation's output channel (``bot.channels.outputs``). Agent messages are ordinary
bot texts (``send_text_message``); the widget labels those that arrive during a handoff as the agent's.
"""
from __future__ import annotations

import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.message_ids import run_turn_once

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_WEB_DIR = PROJECT_ROOT / "build" / "web"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
CLIENT_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # the widget's id of one message, kept over resends
RETRY_AFTER_S = 3  # told to the widget when a turn failed (a database restarting, say): send it again then
PUBSUB_CHANNEL = "brightbay-socketio"  # the Redis channel every instance's socket.io server shares
HISTORY_LIMIT = 200
WEB_FILES = {
    "index.html": "text/html; charset=utf-8",
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "socket.io.min.js": "application/javascript; charset=utf-8",
}

HANDOFF_STARTED = "started"
HANDOFF_ENDED = "ended"


def handoff_marker(state: str, agent: Optional[str] = None) -> Dict[str, Any]:
    """The custom payload that tells the widget a handoff started or ended."""
    if state not in (HANDOFF_STARTED, HANDOFF_ENDED):
        raise ValueError(f"handoff state must be {HANDOFF_STARTED!r} or {HANDOFF_ENDED!r}, not {state!r}")
    marker: Dict[str, Any] = {"handoff": state}
    if agent:
        marker["agent"] = agent
    return marker


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(SESSION_ID.match(value))


class WidgetSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output with custom payloads sent as ``{"custom": ...}``."""

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class WidgetSocketBlueprint(SocketBlueprint):
    """Rasa's socket blueprint that also serves the widget's page at ``/chat/``."""

    def __init__(self, sio: Any, socketio_path: Text, web_dir: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(sio, socketio_path, *args, **kwargs)
        self.ctx.web_dir = web_dir

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        web_dir: Path = self.ctx.web_dir

        async def page_redirect(_: Request) -> HTTPResponse:
            return response.redirect("/chat/")

        async def page_file(_: Request, name: str = "index.html") -> HTTPResponse:
            if name not in WEB_FILES:
                return response.text("not found", status=404)
            path = web_dir / name
            if not path.is_file():
                return response.text(f"{path} is missing: run `make web-build`", status=503)
            return response.raw(
                path.read_bytes(), content_type=WEB_FILES[name], headers={"Cache-Control": "no-cache"}
            )

        if not getattr(app.ctx, "widget_page_routes", False):
            app.ctx.widget_page_routes = True
            app.add_route(page_redirect, "/chat", methods=["GET"], name="widget_page_redirect", strict_slashes=True)
            app.add_route(page_file, "/chat/", methods=["GET"], name="widget_page", strict_slashes=True)
            app.add_route(page_file, "/chat/<name:str>", methods=["GET"], name="widget_page_file")
        super().register(app, options)


def conversation_history(events: List[Any]) -> Dict[str, Any]:
    """The widget's view of a conversation: user and bot messages and the handoff state."""
    messages: List[Dict[str, Any]] = []
    handoff: Optional[str] = None
    agent: Optional[str] = None
    for event in events:
        if isinstance(event, UserUttered):
            metadata = event.metadata if isinstance(getattr(event, "metadata", None), dict) else {}
            shown = metadata.get("display_text")
            text = shown if isinstance(shown, str) and shown.strip() else (event.text or "")
            if text:
                messages.append({"sender": "user", "text": text, "id": event.message_id})
        elif isinstance(event, BotUttered):
            data = event.data or {}
            custom = data.get("custom")
            entry: Dict[str, Any] = {"sender": "bot"}
            if event.text:
                entry["text"] = event.text
            if data.get("buttons"):
                entry["buttons"] = [
                    {"title": b.get("title", ""), "payload": b.get("payload", "")} for b in data["buttons"]
                ]
            if isinstance(custom, dict) and custom.get("handoff") in (HANDOFF_STARTED, HANDOFF_ENDED):
                handoff = custom["handoff"]
                agent = custom.get("agent") if handoff == HANDOFF_STARTED else None
                entry["custom"] = {k: custom[k] for k in ("handoff", "agent") if k in custom}
            if isinstance(event.metadata, dict) and event.metadata.get("live_agent"):
                entry["agent"] = True
            if len(entry) > 1:
                messages.append(entry)
    return {"messages": messages[-HISTORY_LIMIT:], "handoff": handoff, "agent": agent}


class WidgetSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with the fixes and routes described in the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WidgetSocketIOInput":
        channel = super().from_credentials(credentials)
        credentials = credentials or {}
        channel.web_dir = Path(credentials.get("web_dir") or os.environ.get("WEB_DIR") or DEFAULT_WEB_DIR)
        channel.redis_url = credentials.get("redis_url") or os.environ.get("REDIS_URL") or None
        return channel

    web_dir: Path = DEFAULT_WEB_DIR
    redis_url: Optional[Text] = None

    def client_manager(self) -> Optional[AsyncRedisManager]:
        """Redis pub/sub between the instances' socket.io servers, or None (one process)."""
        if not self.redis_url:
            return None
        # Only the connect timeout: a read timeout would also cut the idle subscription every few seconds.
        return AsyncRedisManager(self.redis_url, channel=PUBSUB_CHANNEL, redis_options={"socket_connect_timeout": 3})

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return WidgetSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Same server options as Rasa's channel (see rasa.core.channels.socketio), plus the Redis manager.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], client_manager=self.client_manager())
        self.sio = sio
        blueprint = WidgetSocketBlueprint(sio, self.socketio_path, Path(self.web_dir), "socketio_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not valid_session_id(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> Optional[Dict[Text, Any]]:
            if not isinstance(data, dict):
                return None
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not valid_session_id(sender_id):
                    logger.warning("socket.io message without a valid session_id ignored")
                    return None
                if sender_id not in sio.rooms(sid, namespace=self.namespace):
                    await sio.enter_room(sid, sender_id, namespace=self.namespace)
            else:
                sender_id = sid
            message = data.get("message", "")
            if not isinstance(message, str):
                return None
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            message_id = data.get("message_id")
            message_id = message_id if isinstance(message_id, str) and CLIENT_MESSAGE_ID.match(message_id) else None
            user_message = UserMessage(
                message,
                WidgetSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
                message_id=message_id,
            )
            try:
                if await run_turn_once(on_new_message, user_message, message_id) is not None:
                    # A resend after a reconnect: its replies are in the history the widget reloads.
                    logger.info("widget message %s was already handled: not run again", message_id)
            except Exception:  # noqa: BLE001 - a store or server failure: the widget sends it again
                logger.exception("widget message %s of %s could not be handled", message_id, sender_id)
                return {"message_id": message_id, "error": "unavailable", "retry_after_s": RETRY_AFTER_S}
            return {"message_id": message_id}  # the acknowledgement the widget waits for

        @blueprint.route("/history/<session_id:str>", methods=["GET"])
        async def history(request: Request, session_id: str) -> HTTPResponse:
            headers = {"Cache-Control": "no-store"}
            empty = {"session_id": session_id, "messages": [], "handoff": None, "agent": None}
            if not valid_session_id(session_id):
                return response.json({"error": "invalid session id"}, status=400, headers=headers)
            agent = getattr(request.app.ctx, "agent", None)
            tracker_store = getattr(agent, "tracker_store", None)
            if tracker_store is None:
                return response.json(empty, headers=headers)
            tracker = await tracker_store.retrieve(session_id)
            events = list(tracker.events) if tracker is not None else []
            if not any(isinstance(e, UserUttered) and e.input_channel == self.name() for e in events):
                return response.json(empty, headers=headers)  # not a widget conversation: nothing to show
            return response.json({"session_id": session_id, **conversation_history(events)}, headers=headers)

        return blueprint
