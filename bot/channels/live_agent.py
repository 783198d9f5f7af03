"""The live-agent channel: agents take over paused conversations and hand them back.

Listed in credentials.yml as ``bot.channels.live_agent.LiveAgentInput``; everything is
under ``/webhooks/live_agent``:

=========================================  ==========================================
``GET  /``                                 health (no data)
``GET  /console``                          the agent console (static page, no data)
``GET  /api/queue``                        queued handoffs by priority + the caller's
``GET  /api/handoffs/<id>``                record with the summary card and notes
``POST /api/handoffs/<id>/claim``          take it (409 when someone was faster)
``GET  /api/handoffs/<id>/transcript``     customer / bot / agent messages
``GET  /api/handoffs/<id>/stream``         server-sent events: new messages, live
``POST /api/handoffs/<id>/messages``       ``{"text"}`` to the customer (claimer only)
``POST /webhook``                          ``{"handoff_id", "text"}``: the same
``POST /api/handoffs/<id>/notes``          ``{"text"}`` internal note
``POST /api/handoffs/<id>/resolve``        hand back to the assistant (claimer only)
``GET  /customer/<sender>/messages``       REST customers poll agent messages here
=========================================  ==========================================

Every ``/api`` and ``/webhook`` request needs ``Authorization: Bearer <token>`` with a
token from ``AGENT_TOKENS`` (comma separated, each ``name:token`` or a bare token);
otherwise the answer is 401 with no data. Agent messages reach the customer through the
output channel of the channel the customer last wrote on: socket.io (pushed), a channel
whose input channel offers ``get_output_channel()`` (e.g. callback), and otherwise (REST)
the customer outbox polled at ``/customer/<sender>/messages``.
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff.live import (
    HUB,
    CustomerOutbox,
    LiveHub,
    OutboxOutput,
    live_message,
    record_bot_back,
    rendered_response,
)
from bot.handoff.store import HandoffStore, HandoffView

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSOLE_PAGE = STATIC_DIR / "agent_console.html"
HANDBACK_RESPONSE = "utter_anything_else"
HANDBACK_TEXT = "Is there anything else I can help with?"
MAX_TEXT = 5000
HEARTBEAT_S = 15.0


def parse_tokens(raw: Optional[str]) -> Dict[str, str]:
    """token → agent name from ``"alice:tok1,bob:tok2"`` (a bare token gets a derived name)."""
    tokens: Dict[str, str] = {}
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, token = item.partition(":")
        if not sep:
            name, token = "agent-" + hashlib.sha256(item.encode()).hexdigest()[:8], item
        name, token = name.strip(), token.strip()
        if token:
            tokens[token] = name or "agent"
    return tokens


def _unauthorized() -> HTTPResponse:
    return response.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})


class LiveAgentInput(InputChannel):
    """Agent API, console and real-time stream for handed-off conversations."""

    @classmethod
    def name(cls) -> Text:
        return "live_agent"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(tokens_env=credentials.get("tokens_env", "AGENT_TOKENS"))

    def __init__(
        self,
        tokens_env: str = "AGENT_TOKENS",
        store: Optional[HandoffStore] = None,
        outbox: Optional[CustomerOutbox] = None,
        hub: LiveHub = HUB,
    ) -> None:
        self.tokens_env = tokens_env
        self._tokens = parse_tokens(os.environ.get(tokens_env))
        if not self._tokens:
            logger.warning("live-agent channel: %s is empty, so no agent can log in", tokens_env)
        self._store = store
        self._outbox = outbox
        self.hub = hub

    @property
    def store(self) -> HandoffStore:
        if self._store is None:
            self._store = HandoffStore()
        return self._store

    @property
    def outbox(self) -> CustomerOutbox:
        if self._outbox is None:
            self._outbox = CustomerOutbox()
        return self._outbox

    def agent_for(self, request: Request) -> Optional[str]:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        for known, name in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return name
        return None

    def _authorized(self, handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        @functools.wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            agent = self.agent_for(request)
            if agent is None:
                return _unauthorized()
            return await handler(request, agent, *args, **kwargs)

        return wrapped

    # ---------------------------------------------------------------- delivery

    def output_for(self, request: Request, channel: str) -> OutputChannel:
        """The output channel that reaches a customer who writes on ``channel``."""
        for input_channel in getattr(request.app.ctx, "input_channels", None) or []:
            if input_channel.name() == channel and input_channel is not self:
                try:
                    output = input_channel.get_output_channel()
                except Exception:  # e.g. socket.io before its server started
                    output = None
                if output is not None:
                    return output
        return OutboxOutput(self.outbox)

    async def _deliver(self, request: Request, handoff: HandoffView, text: str,
                       metadata: Dict[str, Any], response_name: Optional[str] = None) -> None:
        """Send ``text`` to the customer and record it as a bot message, under the conversation lock."""
        agent_app = request.app.ctx.agent
        sender = handoff.conversation_id
        output = self.output_for(request, handoff.channel)
        if isinstance(output, OutboxOutput):
            output.sender_role = "agent" if metadata.get("live_agent") else "bot"
        async with agent_app.lock_store.lock(sender):
            tracker = await agent_app.tracker_store.retrieve(sender)
            if tracker is None:
                raise LookupError(f"no conversation {sender}")
            await output.send_text_message(sender, text)
            if response_name:  # the hand-back: the assistant speaks again
                record_bot_back(tracker, response_name, text, metadata)
            else:
                tracker.update(BotUttered(text, metadata=metadata))
            await agent_app.tracker_store.save(tracker)

    async def _handback_text(self, request: Request, handoff: HandoffView) -> str:
        agent_app = request.app.ctx.agent
        try:
            tracker = await agent_app.tracker_store.retrieve(handoff.conversation_id)
        except Exception:
            logger.exception("could not read conversation %s; using the default hand-back text", handoff.conversation_id)
            return HANDBACK_TEXT
        return await rendered_response(agent_app.nlg, HANDBACK_RESPONSE, tracker, handoff.channel, HANDBACK_TEXT)

    # ---------------------------------------------------------------- blueprint

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("live_agent_webhook", __name__)
        store_call = self._store_call
        auth = self._authorized

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/console", methods=["GET"])
        async def console(request: Request) -> HTTPResponse:
            return response.html(CONSOLE_PAGE.read_text(encoding="utf-8"),
                                 headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

        @hook.route("/api/me", methods=["GET"])
        @auth
        async def me(request: Request, agent: str) -> HTTPResponse:
            return response.json({"agent": agent})

        @hook.route("/api/queue", methods=["GET"])
        @auth
        async def queue(request: Request, agent: str) -> HTTPResponse:
            queued = await store_call(self.store.queued)
            mine = await store_call(self.store.active_for, agent)
            return response.json({
                "agent": agent,
                "queued": [self._brief(h) for h in queued],
                "mine": [self._brief(h) for h in mine],
            })

        @hook.route("/api/handoffs/<handoff_id:int>", methods=["GET"])
        @auth
        async def show(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            handoff = await store_call(self.store.get, handoff_id)
            if handoff is None:
                return response.json({"error": "no such handoff"}, status=404)
            return response.json(handoff.as_json())

        @hook.route("/api/handoffs/<handoff_id:int>/claim", methods=["POST"])
        @auth
        async def claim(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            handoff = await store_call(self.store.claim, handoff_id, agent)
            if handoff is None:
                current = await store_call(self.store.get, handoff_id)
                if current is None:
                    return response.json({"error": "no such handoff"}, status=404)
                return response.json({"error": f"handoff is {current.status}", "claimed_by": current.claimed_by},
                                     status=409)
            return response.json(handoff.as_json())

        @hook.route("/api/handoffs/<handoff_id:int>/transcript", methods=["GET"])
        @auth
        async def transcript(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            handoff = await store_call(self.store.get, handoff_id)
            if handoff is None:
                return response.json({"error": "no such handoff"}, status=404)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(handoff.conversation_id)
            lines = []
            for event in (tracker.events if tracker else []):
                line = live_message(event.as_dict())
                if line is not None:
                    lines.append(line)
            return response.json({"conversation_id": handoff.conversation_id, "messages": lines,
                                  "notes": handoff.notes})

        @hook.route("/api/handoffs/<handoff_id:int>/stream", methods=["GET"])
        @auth
        async def stream(request: Request, agent: str, handoff_id: int) -> Optional[HTTPResponse]:
            handoff = await store_call(self.store.get, handoff_id)
            if handoff is None:
                return response.json({"error": "no such handoff"}, status=404)
            queue = self.hub.subscribe(handoff.conversation_id)
            try:
                sse = await request.respond(
                    content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                )
                await sse.send(f"event: ready\ndata: {json.dumps({'handoff_id': handoff_id})}\n\n")
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                    except asyncio.TimeoutError:
                        await sse.send(": keep-alive\n\n")
                        continue
                    await sse.send(f"event: message\ndata: {json.dumps(message)}\n\n")
            except (asyncio.CancelledError, ConnectionError):
                pass
            finally:
                self.hub.unsubscribe(handoff.conversation_id, queue)
            return None

        async def send_to_customer(request: Request, agent: str, handoff_id: int, text: Any) -> HTTPResponse:
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                return response.json({"error": f"'text' must be a non-empty string of at most {MAX_TEXT} characters"},
                                     status=400)
            handoff = await store_call(self.store.get, handoff_id)
            if handoff is None:
                return response.json({"error": "no such handoff"}, status=404)
            if handoff.status != "active" or handoff.claimed_by != agent:
                return response.json({"error": "claim the handoff before writing to the customer"}, status=409)
            await self._deliver(request, handoff, text.strip(), {"live_agent": agent})
            return response.json({"status": "sent"})

        @hook.route("/api/handoffs/<handoff_id:int>/messages", methods=["POST"])
        @auth
        async def message(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            body = _json_body(request)
            return await send_to_customer(request, agent, handoff_id, body.get("text"))

        @hook.route("/webhook", methods=["POST"])
        @auth
        async def webhook(request: Request, agent: str) -> HTTPResponse:
            body = _json_body(request)
            handoff_id = body.get("handoff_id")
            if not isinstance(handoff_id, int) or isinstance(handoff_id, bool):
                return response.json({"error": "'handoff_id' must be an integer"}, status=400)
            return await send_to_customer(request, agent, handoff_id, body.get("text"))

        @hook.route("/api/handoffs/<handoff_id:int>/notes", methods=["POST"])
        @auth
        async def note(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            text = _json_body(request).get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                return response.json({"error": f"'text' must be a non-empty string of at most {MAX_TEXT} characters"},
                                     status=400)
            saved = await store_call(self.store.add_note, handoff_id, agent, text.strip())
            if saved is None:
                return response.json({"error": "no such handoff"}, status=404)
            return response.json(saved)

        @hook.route("/api/handoffs/<handoff_id:int>/resolve", methods=["POST"])
        @auth
        async def resolve(request: Request, agent: str, handoff_id: int) -> HTTPResponse:
            handoff = await store_call(self.store.get, handoff_id)
            if handoff is None:
                return response.json({"error": "no such handoff"}, status=404)
            if handoff.status != "active" or handoff.claimed_by != agent:
                return response.json({"error": "only the agent who claimed it can resolve it"}, status=409)
            resolved = await store_call(self.store.resolve, handoff_id, agent)
            if resolved is None:
                return response.json({"error": "handoff changed meanwhile"}, status=409)
            text = await self._handback_text(request, handoff)
            await self._deliver(request, handoff, text, {"handback": True}, response_name=HANDBACK_RESPONSE)
            return response.json(resolved.as_json())

        @hook.route("/customer/<sender>/messages", methods=["GET"])
        async def customer_messages(request: Request, sender: str) -> HTTPResponse:
            try:
                after = int(request.args.get("after", "0"))
            except ValueError:
                return response.json({"error": "'after' must be an integer"}, status=400)
            messages = await store_call(self.outbox.since, sender, after)
            return response.json({"messages": messages, "next": messages[-1]["id"] if messages else after})

        return hook

    @staticmethod
    async def _store_call(func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(func, *args)

    @staticmethod
    def _brief(handoff: HandoffView) -> Dict[str, Any]:
        data = handoff.as_json()
        summary = data.pop("summary", {}) or {}
        data["written_summary"] = (summary.get("written_summary") or {}).get("text")
        data["customer"] = summary.get("customer")
        return data


def _json_body(request: Request) -> Dict[str, Any]:
    try:
        body = request.json
    except Exception:
        return {}
    return body if isinstance(body, dict) else {}
