"""The summary card an agent reads instead of the transcript.

``build_card`` is pure (tracker events + facts in, JSON-able dict out). ``written_summary``
adds two or three sentences: from the LLM when one is configured (the prompt is redacted
by ``bot.llm`` and built without the customer's email), otherwise extractive.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.handoff.decision import Decision, user_turns
from bot.llm import AsyncLLMClient, LLMError, LLMSettings, redact

logger = logging.getLogger(__name__)

LAST_MESSAGES = 3
_QUIET_ACTIONS = {"action_listen", "action_session_start", "action_handoff", "order_form", "validate_order_form",
                  "action_deactivate_loop", "action_unlikely_intent"}
REASON_TEXT = {
    "anger": "the customer is angry or getting more upset",
    "repeated": "the assistant is not getting anywhere (repeats, misunderstandings or 'that didn't help')",
    "high_value": "a high-value order or customer",
    "explicit_request": "the customer asked for a person",
    "sensitive": "a legal, privacy or security matter",
}

# What each intent asked about, in an agent's words ("asked about an order's status, then a refund"); an intent
# missing here is written with spaces for underscores.
INTENT_TOPICS = {
    "cancel_order": "cancelling an order", "change_order": "changing an order",
    "change_shipping_address": "changing a delivery address", "check_cancellation_fee": "the cancellation fee",
    "check_invoice": "an invoice", "get_invoice": "getting an invoice", "check_payment_methods": "payment methods",
    "check_refund_policy": "the return policy", "complaint": "a complaint",
    "contact_customer_service": "contacting support",
    "contact_human_agent": "talking to a person", "create_account": "creating an account",
    "delete_account": "deleting their account", "edit_account": "editing their account",
    "delivery_options": "shipping options", "delivery_period": "delivery times", "get_refund": "a refund or return",
    "newsletter_subscription": "the newsletter", "payment_issue": "a payment problem",
    "place_order": "placing an order",
    "recover_password": "their password", "registration_problems": "signing up", "review": "leaving a review",
    "set_up_shipping_address": "a shipping address", "switch_account": "switching accounts",
    "track_order": "an order's status", "track_refund": "a refund's status",
}
# Intents that say nothing about what the customer wants.
_NO_TOPIC = ("inform", "affirm", "deny", "greet", "goodbye", "thank_you", "out_of_scope", "nlu_fallback")


def _money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def _trend(scores: List[float]) -> str:
    if len(scores) < 2:
        return "single message"
    delta = scores[-1] - scores[0]
    if delta <= -0.2:
        return "worsening"
    if delta >= 0.2:
        return "improving"
    return "steady"


def build_card(
    events: Sequence[Mapping[str, Any]],
    decision: Decision,
    order: Optional[Mapping[str, Any]] = None,
    refunds: Sequence[Mapping[str, Any]] = (),
    channel: str = "rest",
) -> Dict[str, Any]:
    """Everything an agent needs to act without reading the transcript."""
    conversation = segment_since_session(events)
    turns = user_turns(conversation)
    # A ZIP code typed to check an order is read as an order number by the NLU too (seen in the queue: "order
    # 73301 (not verified)"); the order check knew it for the identity.
    identities = {str(e.get("value")) for e in conversation
                  if e.get("event") == "slot" and e.get("name") == "order_identity" and e.get("value")}
    mentioned: List[str] = []
    for turn in turns:
        for order_id in turn.order_ids:
            if order_id not in mentioned and order_id not in identities:
                mentioned.append(order_id)
    orders = []
    for order_id in mentioned:
        entry: Dict[str, Any] = {"order_id": order_id, "verified": False}
        if order and str(order.get("order_id")) == order_id:
            entry.update(verified=True, total=_money(order["total"]), status=order.get("status"))
        orders.append(entry)
    if order and str(order.get("order_id")) not in mentioned:
        orders.append({"order_id": str(order["order_id"]), "verified": True, "total": _money(order["total"]),
                       "status": order.get("status")})

    answered: List[Dict[str, str]] = []
    last_action: Optional[str] = None
    for event in conversation:
        if event.get("event") == "action" and event.get("name") not in _QUIET_ACTIONS:
            last_action = event.get("name")
        elif event.get("event") == "bot" and event.get("text"):
            answered.append({"action": last_action or "bot", "text": event["text"][:300]})

    scores = [round(float(t.sentiment.get("score", 0.0)), 2) for t in turns]
    return {
        "customer": {
            "verified": bool(order),
            "name": order.get("customer_name") if order else None,
            "email": order.get("customer_email") if order else None,
            "tier": order.get("customer_tier") if order else None,
        },
        "channel": channel,
        "orders": orders,
        "refunds": [
            {"refund_id": r["refund_id"], "order_id": r["order_id"], "amount": _money(r["amount"]), "status": str(r["status"]),
             "items": list(r.get("items") or [])}  # empty: the whole order
            for r in refunds
        ],
        "intents": [t.intent or "unknown" for t in turns],
        "assistant": answered[-8:],
        "sentiment": {
            "scores": scores,
            "labels": [t.sentiment.get("label") for t in turns],
            "angry_messages": sum(1 for t in turns if t.sentiment.get("anger")),
            "trend": _trend(scores),
            "source": sorted({str(t.sentiment.get("source")) for t in turns}),
        },
        "reasons": list(decision.reasons),
        "evidence": {k: list(v) for k, v in decision.evidence.items()},
        "priority": decision.priority,
        "priority_label": decision.priority_label,
        "last_messages": [t.text for t in turns[-LAST_MESSAGES:]],
        # What the customer first asked for: in a long conversation the last messages may not say it (seen in the
        # queue: "i was charged twice for order 10002" summed up as "a payment problem, then the return policy").
        "first_request": next((t.text for t in turns if t.intent not in _NO_TOPIC), None),
    }


def segment_since_session(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """Events since the session started (earlier handoffs and hand-backs included)."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") in ("session_started", "restart"):
            start = index + 1
    return list(events[start:])


def _quoted(text: str, limit: int = 160) -> str:
    """``text`` for a quote in the summary: without a help-center answer's "Source: ..." line, cut at a word within
    ``limit`` characters (it was cut mid-word: "Source: Shipping options, costs an")."""
    text = " ".join(text.split("\n\nSource:")[0].split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def extractive_summary(card: Mapping[str, Any]) -> str:
    """Two or three sentences assembled from the card."""
    customer = card["customer"]
    who = f"{customer['name']} ({customer['tier']} customer, identity verified)" if customer["verified"] else \
        "An unverified customer"
    intents = [INTENT_TOPICS.get(i, i.replace("_", " ")) for i in card["intents"] if i not in _NO_TOPIC]
    asked = ", then ".join(dict.fromkeys(intents)) or "something the assistant couldn't place"
    orders = "; ".join(
        f"order {o['order_id']}" + (f" ({o['total']}, {o['status']})" if o.get("verified") else " (not verified)")
        for o in card["orders"]
    )
    first = f"{who} asked about {asked}" + (f" regarding {orders}." if orders else ".")
    tried = _quoted(card["assistant"][-1]["text"]) if card["assistant"] else ""
    refunds = "".join(
        f" Refund #{r['refund_id']} of {r['amount']}{' for ' + '; '.join(r['items']) if r.get('items') else ''}"
        f" is {r['status'].replace('_', ' ')}."
        for r in card["refunds"]
    )
    said = f"The assistant last said: \"{tried}\"." if tried else "The assistant hadn't replied yet."
    second = said + refunds
    why = "; ".join(REASON_TEXT.get(r, r) for r in card["reasons"]) or "handoff requested"
    last = _quoted(card["last_messages"][-1]) if card["last_messages"] else ""
    opening = card.get("first_request")
    if opening and opening not in card["last_messages"]:
        first += f" They opened with: \"{_quoted(opening)}\"."
    third = f"Handed off because {why}; last message: \"{last}\"."
    return " ".join([first, second, third])


SYSTEM_PROMPT = (
    "You write handoff notes for customer-support agents. Given a JSON summary card of a chat "
    "between a customer and Brightbay's assistant, reply with a JSON object "
    '{"summary": "..."} holding two or three plain sentences: what the customer wants, what the '
    "assistant already did, and why a person is needed now. No greetings, no invented facts."
)


def llm_card(card: Mapping[str, Any]) -> Dict[str, Any]:
    """The card as sent to the LLM: no email address, free text redacted."""
    safe = {k: v for k, v in card.items() if k not in ("customer",)}
    safe["customer"] = {"verified": card["customer"]["verified"], "tier": card["customer"]["tier"]}
    safe["last_messages"] = [redact(m) for m in card["last_messages"]]
    safe["first_request"] = redact(card["first_request"]) if card.get("first_request") else None
    safe["assistant"] = [{"action": a["action"], "text": redact(a["text"])} for a in card["assistant"]]
    safe["evidence"] = {k: [redact(e) for e in v] for k, v in card["evidence"].items()}
    return safe


async def written_summary(
    card: Mapping[str, Any], client: Optional[AsyncLLMClient] = None, settings: Optional[LLMSettings] = None
) -> Dict[str, str]:
    """{"text", "source"}: the LLM's summary when configured and working, else extractive."""
    import json

    settings = settings or (client.settings if client else LLMSettings.from_env())
    if settings.configured:
        own = client is None
        client = client or AsyncLLMClient(settings)
        try:
            result = await client.complete_json(
                [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": json.dumps(llm_card(card), default=str)},
                ],
                model=settings.fast_model,
                schema_hint='{"summary": string}',
            )
            text = result.data.get("summary")
            if isinstance(text, str) and text.strip():
                return {"text": text.strip()[:1200], "source": "llm"}
            logger.warning("LLM summary had no 'summary' string; using the extractive one")
        except LLMError as exc:
            logger.warning("LLM summary failed (%s); using the extractive one", exc)
        finally:
            if own:
                await client.aclose()
    return {"text": extractive_summary(card), "source": "extractive"}
