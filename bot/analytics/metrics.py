"""Support metrics from conversations (tracker sessions) and handoff records.

Definitions (also in the README's "Support metrics" section):

- **conversation**: a Rasa session (a sender's events from one ``action_session_start`` to the
  next) with at least one customer message, counted in the window of its first event.
- **escalated**: ``action_handoff`` ran. Its reasons come from the handoff record of the same
  conversation id created closest to that moment (``unrecorded`` when there is none).
- **abandoned**: not escalated, and the conversation ended inside a task: the order form still
  active or a change still waiting for yes/no (``pending_confirmation``), with no goodbye or
  thanks after the task began.
- **contained**: neither escalated nor abandoned. **resolved**: contained, or escalated with its
  handoff record ``resolved``.
- **first-contact resolution** (proxy): among conversations about an order (slot ``order_id``
  set), the share after which no other conversation about the same order starts within 7 days.
- **CSAT**: the last valid ``csat_score`` slot of a conversation (1-5); skipped = asked
  (``action_ask_csat``, earlier ``utter_ask_csat``) but no score. Bot-only vs agent-handled = not escalated vs escalated.
- **handoff wait** = claimed_at - created_at, **handling** = resolved_at - claimed_at, over the
  handoff records created in the window (after-hours records are left out of the wait:
  they wait for the next shift by design). Percentiles interpolate linearly.
- **LLM usage**: ``parse_data["llm"]["calls"]`` of customer messages plus ``kb_answer.llm_usage``
  of bot messages; cached replies are not counted as calls (their tokens and cost are summed).
- **fallback rate**: customer messages read as ``nlu_fallback`` / all customer messages.
- **escalating intents**: the last customer intent before ``action_handoff``.
"""
from __future__ import annotations

import bisect
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bot.analytics.events import HandoffRecord

FCR_DAYS = 7
TASK_LOOPS = {"order_form"}
DONE_INTENTS = {"goodbye", "thank_you"}
FALLBACK_INTENT = "nlu_fallback"
HANDOFF_ACTION = "action_handoff"
CSAT_ASKS = {"utter_ask_csat", "action_ask_csat"}  # the rating question (a plain response before 2026-11-27)
MATCH_SLACK_S = 3600.0  # a handoff record belongs to the conversation it was created within an hour of


@dataclass
class Conversation:
    sender_id: str
    start: float
    end: float = 0.0
    user_messages: int = 0
    fallbacks: int = 0
    intents: Set[str] = field(default_factory=set)
    escalated_at: Optional[float] = None
    trigger_intent: Optional[str] = None
    open_task: bool = False
    order_ids: Set[str] = field(default_factory=set)
    csat_asked: bool = False
    csat_score: Optional[int] = None
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    handoff: Optional[HandoffRecord] = None

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None

    @property
    def abandoned(self) -> bool:
        return not self.escalated and self.open_task

    @property
    def contained(self) -> bool:
        return not self.escalated and not self.open_task

    @property
    def resolved(self) -> bool:
        return self.contained or (self.handoff is not None and self.handoff.status == "resolved")

    @property
    def reasons(self) -> Tuple[str, ...]:
        if not self.escalated:
            return ()
        return tuple(self.handoff.reasons) if self.handoff is not None and self.handoff.reasons else ("unrecorded",)


def _add_usage(conv: Conversation, usage: Dict[str, Any]) -> None:
    if not isinstance(usage, dict):
        return
    if not usage.get("cached"):
        conv.llm_calls += 1
    conv.prompt_tokens += int(usage.get("prompt_tokens") or 0)
    conv.completion_tokens += int(usage.get("completion_tokens") or 0)
    conv.cost_usd += float(usage.get("cost_usd") or 0.0)


def _score(value: Any) -> Optional[int]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number == int(number) and 1 <= number <= 5 else None


def build_conversation(sender_id: str, rows: Sequence[Tuple]) -> Optional[Conversation]:
    """One conversation from its rows (sender_id, type_name, timestamp, intent_name, action_name, data)."""
    conv = Conversation(sender_id, start=rows[0][2] or 0.0)
    loop: Optional[str] = None
    pending = False
    last_intent: Optional[str] = None
    for _, type_name, ts, intent, action, data in rows:
        conv.end = max(conv.end, ts or 0.0)
        if type_name == "user":
            conv.user_messages += 1
            last_intent = intent
            if intent:
                conv.intents.add(intent)
            if intent == FALLBACK_INTENT:
                conv.fallbacks += 1
            if intent in DONE_INTENTS:
                conv.open_task = False
            if data:
                llm = (json.loads(data).get("parse_data") or {}).get("llm") or {}
                for call in llm.get("calls") or []:
                    _add_usage(conv, call)
        elif type_name == "action":
            if action == HANDOFF_ACTION and conv.escalated_at is None:
                conv.escalated_at = ts
                conv.trigger_intent = last_intent
            elif action in CSAT_ASKS:
                conv.csat_asked = True
        elif type_name == "slot" and data:
            name, value = action, json.loads(data).get("value")
            if name == "pending_confirmation":
                pending = value is not None
                conv.open_task = pending or loop in TASK_LOOPS
            elif name == "order_id" and value:
                conv.order_ids.add(str(value))
            elif name == "csat_score" and _score(value) is not None:
                conv.csat_score = _score(value)
        elif type_name == "active_loop":
            loop = action
            conv.open_task = pending or loop in TASK_LOOPS
        elif type_name == "bot" and data:
            usage = ((json.loads(data).get("metadata") or {}).get("kb_answer") or {}).get("llm_usage")
            if usage:
                _add_usage(conv, usage)
    return conv if conv.user_messages else None


def attach_handoffs(conversations: Iterable[Conversation], records: Sequence[HandoffRecord]) -> None:
    """Give each escalated conversation the handoff record of its sender created nearest its handoff."""
    by_sender: Dict[str, List[HandoffRecord]] = defaultdict(list)
    for record in records:
        by_sender[record.conversation_id].append(record)
    used: Set[int] = set()
    for conv in conversations:
        if not conv.escalated or conv.sender_id not in by_sender:
            continue
        candidates = [
            (abs(r.created_at.timestamp() - conv.escalated_at), r.id, r) for r in by_sender[conv.sender_id]
            if r.id not in used and abs(r.created_at.timestamp() - conv.escalated_at) <= MATCH_SLACK_S
        ]
        if candidates:
            conv.handoff = min(candidates)[2]
            used.add(conv.handoff.id)


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Linear-interpolation percentile (numpy's default), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rate(numerator: float, denominator: float) -> Optional[float]:
    return numerator / denominator if denominator else None


def _round(value: Optional[float], digits: int = 6) -> Optional[float]:
    return None if value is None else round(value, digits)


def _csat(convs: Sequence[Conversation]) -> Dict[str, Any]:
    scores = [c.csat_score for c in convs if c.csat_score is not None]
    asked = sum(1 for c in convs if c.csat_asked or c.csat_score is not None)
    distribution = Counter(scores)
    return {
        "conversations": len(convs),
        "asked": asked,
        "rated": len(scores),
        "skipped": asked - len(scores),
        "response_rate": _round(_rate(len(scores), asked)),
        "average": _round(_rate(sum(scores), len(scores)), 4),
        "distribution": {str(s): distribution.get(s, 0) for s in range(1, 6)},
    }


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def compute(
    conversations: Sequence[Conversation],
    handoffs: Sequence[HandoffRecord],
    since: float,
    until: float,
) -> Dict[str, Any]:
    """All figures for the conversations that started in [since, until).

    ``conversations`` may include later ones (up to 7 days after the window: they are only used to
    find returns about the same order); ``handoffs`` are the records created in the window.
    """
    window = [c for c in conversations if since <= c.start < until]
    n = len(window)
    escalated = [c for c in window if c.escalated]
    contained = [c for c in window if c.contained]
    abandoned = [c for c in window if c.abandoned]
    resolved = [c for c in window if c.resolved]

    reason_counts: Counter = Counter()
    for conv in escalated:
        reason_counts.update(set(conv.reasons))

    # First-contact resolution: no conversation about the same order starts within 7 days after this one ends.
    starts_by_order: Dict[str, List[float]] = defaultdict(list)
    for conv in conversations:
        for order in conv.order_ids:
            starts_by_order[order].append(conv.start)
    for starts in starts_by_order.values():
        starts.sort()
    order_convs = [c for c in window if c.order_ids]
    first_contact = 0
    for conv in order_convs:
        horizon = conv.end + FCR_DAYS * 86400
        returned = False
        for order in conv.order_ids:
            starts = starts_by_order[order]
            i = bisect.bisect_right(starts, conv.end)
            if i < len(starts) and starts[i] <= horizon:
                returned = True
                break
        first_contact += not returned

    waits = [(h.claimed_at - h.created_at).total_seconds() for h in handoffs if h.claimed_at and not h.after_hours]
    handling = [(h.resolved_at - h.claimed_at).total_seconds() for h in handoffs if h.claimed_at and h.resolved_at]

    user_messages = sum(c.user_messages for c in window)
    fallbacks = sum(c.fallbacks for c in window)
    calls = sum(c.llm_calls for c in window)
    prompt = sum(c.prompt_tokens for c in window)
    completion = sum(c.completion_tokens for c in window)
    cost = sum(c.cost_usd for c in window)

    trigger_counts = Counter(c.trigger_intent or "(none)" for c in escalated)
    intent_convs: Counter = Counter()
    for conv in window:
        intent_convs.update(conv.intents)
    top_intents = [
        {
            "intent": intent,
            "escalations": count,
            "share_of_escalations": _round(count / len(escalated)),
            "conversations_with_intent": intent_convs.get(intent, 0),
            "escalation_rate": _round(_rate(count, intent_convs.get(intent, 0))),
        }
        for intent, count in sorted(trigger_counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    ]

    daily: Dict[str, Dict[str, Any]] = {}
    for conv in window:
        day = daily.setdefault(_day(conv.start), {"conversations": 0, "contained": 0, "escalated": 0, "cost_usd": 0.0})
        day["conversations"] += 1
        day["contained"] += conv.contained
        day["escalated"] += conv.escalated
        day["cost_usd"] += conv.cost_usd
    for day in daily.values():
        day["containment_rate"] = _round(day["contained"] / day["conversations"])
        day["cost_per_conversation_usd"] = _round(day["cost_usd"] / day["conversations"], 8)
        day["cost_usd"] = _round(day["cost_usd"], 8)

    return {
        "window": {
            "since": datetime.fromtimestamp(since, tz=timezone.utc).isoformat(timespec="seconds"),
            "until": datetime.fromtimestamp(until, tz=timezone.utc).isoformat(timespec="seconds"),
        },
        "conversations": n,
        "contained": len(contained),
        "containment_rate": _round(_rate(len(contained), n)),
        "abandoned": len(abandoned),
        "abandonment_rate": _round(_rate(len(abandoned), n)),
        "escalated": len(escalated),
        "escalation_rate": _round(_rate(len(escalated), n)),
        "escalations_by_reason": {
            reason: {"conversations": count, "rate": _round(count / n)}
            for reason, count in sorted(reason_counts.items(), key=lambda item: (-item[1], item[0]))
        },
        "resolved": len(resolved),
        "first_contact_resolution": {
            "order_conversations": len(order_convs),
            "resolved_first_time": first_contact,
            "rate": _round(_rate(first_contact, len(order_convs))),
            "days": FCR_DAYS,
        },
        "csat": {
            "all": _csat(window),
            "bot_only": _csat([c for c in window if not c.escalated]),
            "agent_handled": _csat(escalated),
        },
        "handoffs": {
            "records": len(handoffs),
            "claimed": sum(1 for h in handoffs if h.claimed_at),
            "resolved": sum(1 for h in handoffs if h.resolved_at),
            "after_hours": sum(1 for h in handoffs if h.after_hours),
            "wait_seconds": {"median": _round(percentile(waits, 50), 3), "p90": _round(percentile(waits, 90), 3),
                             "count": len(waits)},
            "handling_seconds": {"median": _round(percentile(handling, 50), 3),
                                 "p90": _round(percentile(handling, 90), 3), "count": len(handling)},
        },
        "llm": {
            "calls": calls,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "tokens": prompt + completion,
            "cost_usd": _round(cost, 8),
            "per_conversation": {
                "calls": _round(_rate(calls, n)),
                "tokens": _round(_rate(prompt + completion, n)),
                "cost_usd": _round(_rate(cost, n), 8),
            },
            "per_resolved_conversation": {
                "calls": _round(_rate(calls, len(resolved))),
                "tokens": _round(_rate(prompt + completion, len(resolved))),
                "cost_usd": _round(_rate(cost, len(resolved)), 8),
            },
        },
        "fallback": {
            "user_messages": user_messages,
            "fallback_messages": fallbacks,
            "rate": _round(_rate(fallbacks, user_messages)),
            "conversations_with_fallback": sum(1 for c in window if c.fallbacks),
        },
        "top_escalating_intents": top_intents,
        "daily": [{"date": date, **values} for date, values in sorted(daily.items())],
    }
