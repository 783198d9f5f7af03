"""action_handoff: connects the customer with a live agent and pauses the assistant.

It recomputes the policy's decision from the tracker (same pure function, same settings
from config.yml), builds the agent's summary card, writes the handoff record, links a
refund that waits for agent approval, queues the conversation and tells the customer how
long it should take. Outside support hours it takes a message and promises an email.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.verification import IDENTITY_SLOT, ORDER_ID_SLOT, REQUESTED_SLOT
from bot.db.models import RefundStatus
from bot.handoff.config import policy_config
from bot.handoff.decision import EXPLICIT_REQUEST, Decision, OrderFacts, evaluate
from bot.handoff.hours import SupportHours
from bot.handoff.store import HandoffStore
from bot.handoff.summary import build_card, written_summary
from bot.handoff.waiting import queue_position_text
from bot.orders import OrderService, OrderSummary

logger = logging.getLogger(__name__)

SUMMARY_TIMEOUT_S = 8.0
SUPPORT_PHONE = "1-800-555-0199"  # data/kb/contact.md
UNAVAILABLE_TEXT = (
    f"I'm sorry, I couldn't reach our support team just now. Please call {SUPPORT_PHONE} or email "
    "support@brightbay.example and a person will help you."
)
# "can someone call me?", "i'd rather talk on the phone": the agents answer in the chat; the phone line is ours to give.
_ASKS_FOR_A_CALL = re.compile(
    r"\b(?:call|phone|ring)(?:s|ing)? (?:me|us)\b|\bgive me a (?:call|ring)\b|\b(?:on|over|by) the phone\b"
    r"|\bphone (?:number|call|support)\b|\bcall(?:back| back)\b|\bspeak to someone on the phone\b",
    re.IGNORECASE,
)
CALL_TEXT = (
    "We can't call you from this chat, but if you'd rather talk on the phone, our number is " + SUPPORT_PHONE
    + ", answered {hours}. Otherwise, stay here and the agent will answer you in this chat."
)


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {os.environ.get(name)!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def wait_minutes(position: int, minutes_per_conversation: float, agents: float) -> int:
    """Rough wait for the ``position``-th conversation in the queue (1 = next)."""
    return max(1, math.ceil(position * minutes_per_conversation / agents))


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "your email address"


class ActionHandoff(Action):
    def __init__(
        self,
        service: Optional[OrderService] = None,
        store: Optional[HandoffStore] = None,
        hours: Optional[SupportHours] = None,
        config: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._service = service or OrderService()
        self._store = store
        self._hours = hours
        self._config = config

    def name(self) -> Text:
        return "action_handoff"

    @property
    def store(self) -> HandoffStore:
        if self._store is None:
            self._store = HandoffStore()
        return self._store

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            return await self._hand_off(dispatcher, tracker)
        except Exception:  # the customer is told how to reach a person some other way
            logger.exception("handoff failed in conversation %s", tracker.sender_id)
            dispatcher.utter_message(text=UNAVAILABLE_TEXT)
            return []

    async def _verified(self, tracker: Tracker) -> Optional[OrderSummary]:
        order_id, identity = tracker.get_slot(ORDER_ID_SLOT), tracker.get_slot(IDENTITY_SLOT)
        if not order_id or not identity:
            return None
        try:
            return await asyncio.to_thread(self._service.verify, int(order_id), identity)
        except (TypeError, ValueError):
            return None

    async def _hand_off(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        config = self._config or policy_config()
        hours = self._hours or SupportHours.from_env()
        order = await self._verified(tracker)

        def lookup(order_id: int, identity: str) -> Optional[OrderFacts]:
            if order is None or order.order_id != order_id:
                return None
            return OrderFacts(order.order_id, order.total, order.customer_tier)

        decision = evaluate(tracker.events, tracker.slots, config, lookup)
        if not decision.handoff:  # reached by a rule or a button rather than by the policy
            decision = Decision(
                reasons=(EXPLICIT_REQUEST,),
                evidence={EXPLICIT_REQUEST: ["handed off by a rule or button"]},
                priority=config["reason_priority"][EXPLICIT_REQUEST],
                trigger="rule",
            )

        refunds: List[Dict[str, Any]] = []
        pending_refund_id: Optional[int] = None
        if order is not None:
            found = await asyncio.to_thread(self._service.refunds, order.order_id, tracker.get_slot(IDENTITY_SLOT))
            for refund in found or []:
                refunds.append(dataclasses.asdict(refund))
                if refund.status is RefundStatus.PENDING_AGENT_APPROVAL:
                    pending_refund_id = refund.refund_id

        channel = tracker.get_latest_input_channel() or "rest"
        order_facts = None
        if order is not None:
            order_facts = {
                "order_id": order.order_id, "total": order.total, "status": str(order.status),
                "customer_name": order.customer_name, "customer_email": order.customer_email,
                "customer_tier": order.customer_tier,
            }
        card = build_card(tracker.events, decision, order_facts, refunds, channel)
        try:
            card["written_summary"] = await asyncio.wait_for(written_summary(card), SUMMARY_TIMEOUT_S)
        except asyncio.TimeoutError:
            from bot.handoff.summary import extractive_summary

            card["written_summary"] = {"text": extractive_summary(card), "source": "extractive"}

        open_now = hours.is_open()
        record = await asyncio.to_thread(
            self.store.open,
            tracker.sender_id,
            channel,
            decision.reasons,
            decision.priority,
            card,
            order.order_id if order else None,
            pending_refund_id,
            not open_now,
        )
        if open_now:
            queued = await asyncio.to_thread(self.store.queued)
            position = next((i for i, h in enumerate(queued, start=1) if h.id == record.id), len(queued) or 1)
            minutes = wait_minutes(
                position,
                _env_number("HANDOFF_MINUTES_PER_CONVERSATION", 4),
                _env_number("HANDOFF_AGENTS_ON_DUTY", 2),
            )
            queue_text = queue_position_text(position - 1)
            dispatcher.utter_message(
                text=(
                    f"I'm connecting you with a member of our support team. {queue_text}, so it should take "
                    f"about {minutes} minute{'s' if minutes != 1 else ''}. I've passed on a summary of our "
                    "conversation, so you won't need to repeat yourself."
                )
            )
        else:
            email = f"at {mask_email(order.customer_email)}" if order else "(please include your email address)"
            dispatcher.utter_message(
                text=(
                    f"Our support team is offline right now; they're available {hours.describe()}. "
                    f"Please leave your message here and an agent will email you {email} by the next business day."
                )
            )
        if open_now and _ASKS_FOR_A_CALL.search((tracker.latest_message or {}).get("text") or ""):
            # Seen in a chat: "can someone call me?" was queued for a chat agent without a word about the phone.
            dispatcher.utter_message(text=CALL_TEXT.format(hours=hours.describe()))
        logger.info(
            "conversation %s handed off as #%s (%s, priority %s)",
            tracker.sender_id, record.id, ",".join(decision.reasons), decision.priority,
        )
        events: List[EventType] = []
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)]
        return events + [ConversationPaused()]
