"""What a customer waiting for an agent is told when they write again before anyone has picked them up.

A handed-off conversation is paused: the assistant does not answer, the agent does. Until an agent
claims it, a REST, Slack or Messenger customer who writes "hello? anyone there?" heard nothing and
could not tell a queue from a broken chat. ``QueueNotices`` answers such a message with their place
in the queue (or that the team is offline), at most once per ``interval_s`` per conversation, so a
customer who sends several lines gets one notice. Once an agent has claimed the conversation the
assistant stays silent: the agent is the one talking.

A queued customer who no longer wants to wait ("i don't want to wait", "never mind", "stop waiting")
leaves the queue: the handoff is withdrawn and the assistant answers again.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Dict, Optional

from bot.db.models import HandoffStatus
from bot.handoff.store import HandoffStore

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 120.0
REDIS_KEY_PREFIX = "brightbay:queue-notice:"
LEAVE_HINT = 'If you\'d rather not wait, say "stop waiting".'

# Said while queued: the customer gives up on the agent. Only unambiguous wordings; "no" or "bye" alone
# may be meant for the agent who is about to join, and leaving by mistake costs the place in the queue.
_LEAVE_QUEUE = re.compile(
    r"\b(?:(?:do ?n[o']?t|do not|not going to|no need to) (?:want to |wanna |need to )?wait"
    r"|(?:stop|quit|done) waiting|(?:leave|exit|quit|get out of) (?:the |this )?(?:queue|line)"
    r"|cancel (?:the |my |this )?(?:request|chat|wait|queue|handoff|transfer|agent)"
    r"|never ?mind|nvm|forget (?:it|about it)|(?:go )?back to (?:the )?(?:bot|assistant)"
    r"|no longer need|do ?n[o']?t need (?:an? |the )?(?:agent|human|person|help) any ?more)\b",
    re.IGNORECASE,
)


def wants_to_leave_queue(text: Optional[str]) -> bool:
    """"i don't want to wait", "never mind, I found it", "stop waiting"."""
    return bool(text and _LEAVE_QUEUE.search(text))


def queue_position_text(ahead: int) -> str:
    """'You're next in line' or 'There are 2 customers ahead of you'."""
    if ahead <= 0:
        return "You're next in line"
    return f"There {'is' if ahead == 1 else 'are'} {ahead} customer{'s' if ahead != 1 else ''} ahead of you"


class QueueNotices:
    """Decides the notice for a message written while the conversation waits for an agent.

    With ``redis_url`` the "told recently" mark is shared by every instance (messages of one REST
    conversation are spread over the instances); without it, or when Redis fails, it is per process.
    """

    def __init__(
        self,
        store: HandoffStore,
        interval_s: float = DEFAULT_INTERVAL_S,
        max_tracked: int = 10_000,
        redis_url: Optional[str] = None,
    ) -> None:
        self._store = store
        self._interval_s = interval_s
        self._max_tracked = max_tracked
        self._last: Dict[str, float] = {}  # conversation -> when it was last told (this process)
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def _due(self, conversation_id: str, now: float) -> bool:
        if self._redis is not None:
            try:
                key = REDIS_KEY_PREFIX + conversation_id
                return bool(self._redis.set(key, 1, nx=True, px=max(1, int(self._interval_s * 1000))))
            except Exception as exc:  # noqa: BLE001 - the process's own memory will do
                logger.warning("queue notice mark not shared (Redis: %s)", exc)
        with self._lock:
            last = self._last.get(conversation_id)
            if last is not None and now - last < self._interval_s:
                return False
            if len(self._last) >= self._max_tracked:
                self._last = {k: v for k, v in self._last.items() if now - v < self._interval_s}
            self._last[conversation_id] = now
            return True

    def notice_for(self, conversation_id: str, now: Optional[float] = None) -> Optional[str]:
        """The notice to send now, or None (not waiting in the queue, or told recently). Blocking: database."""
        record = self._store.open_for_conversation(conversation_id)
        if record is None or record.status != HandoffStatus.QUEUED.value:
            return None
        if not self._due(conversation_id, time.monotonic() if now is None else now):
            return None
        if record.after_hours:
            return ("Thanks, I've added that to your conversation. Our support team is offline right now; "
                    "an agent will pick it up when they're back. " + LEAVE_HINT)
        queued = self._store.queued()
        ahead = next((i for i, h in enumerate(queued) if h.id == record.id), len(queued))
        return (f"Thanks, I've added that to your conversation. {queue_position_text(ahead)}; "
                "an agent will reply here as soon as they're free. " + LEAVE_HINT)

    def leave_queue(self, conversation_id: str) -> bool:
        """Withdraws the conversation's handoff while it is still queued; False when an agent already has
        it (or there is none), and the conversation stays with the agent. Blocking: database."""
        record = self._store.open_for_conversation(conversation_id)
        return record is not None and self._store.withdraw(record.id) is not None
