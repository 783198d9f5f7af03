"""A customer who writes while waiting in the agent queue is told so (see bot/handoff/waiting.py).

Rasa skips the prediction loop of a paused conversation, so nothing answers. The loop
(``MessageProcessor._run_prediction_loop``) is wrapped on import: when the conversation is paused
and its newest event is the customer's message, ``QueueNotices`` may send one line through the
message's own channel. It is not stored (the agent's transcript keeps the customer's messages only),
and a failure to look up the queue never costs the customer their message.

A queued customer who says they don't want to wait leaves the queue (``QueueNotices.leave_queue``):
the conversation resumes and the assistant says so (``utter_left_queue``), recorded like the agents'
hand-back, so the next message is the bot's again.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os

from rasa.core.channels.channel import OutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff.live import record_bot_back, rendered_response
from bot.handoff.store import HandoffStore
from bot.handoff.waiting import DEFAULT_INTERVAL_S, QueueNotices, wants_to_leave_queue

logger = logging.getLogger(__name__)

LEFT_QUEUE_RESPONSE = "utter_left_queue"
LEFT_QUEUE_TEXT = ("OK, I've taken you out of the queue, so no agent will join. I'm Brightbay's virtual assistant "
                   "again: is there anything else I can help with? If you'd like a person later, just ask.")

@functools.lru_cache(maxsize=None)
def _process_notices() -> QueueNotices:
    """This process's notices, made when the first waiting customer writes."""
    interval = float(os.environ.get("QUEUE_NOTICE_INTERVAL_S", DEFAULT_INTERVAL_S))
    return QueueNotices(HandoffStore(), interval, redis_url=os.environ.get("REDIS_URL") or None)


def _customer_just_wrote(tracker: DialogueStateTracker) -> bool:
    latest = tracker.events[-1] if tracker.events else None
    return isinstance(latest, UserUttered) and not (latest.text or "").startswith(EXTERNAL_MESSAGE_PREFIX)


_rasa_run_prediction_loop = MessageProcessor._run_prediction_loop


async def _run_prediction_loop_or_queue_notice(
    self: MessageProcessor, output_channel: OutputChannel, tracker: DialogueStateTracker
) -> None:
    if tracker.is_paused() and _customer_just_wrote(tracker):
        if wants_to_leave_queue(tracker.events[-1].text) and await _left_queue(self, output_channel, tracker):
            return
        try:
            notice = await asyncio.to_thread(_process_notices().notice_for, tracker.sender_id)
            if notice:
                await output_channel.send_text_message(tracker.sender_id, notice)
        except Exception:  # the message itself is stored either way
            logger.exception("could not tell waiting conversation %s its place in the queue", tracker.sender_id)
    await _rasa_run_prediction_loop(self, output_channel, tracker)


async def _left_queue(self: MessageProcessor, output_channel: OutputChannel, tracker: DialogueStateTracker) -> bool:
    """Takes a queued conversation out of the queue and answers; False (nothing changed) when an agent
    already has it or the queue can't be reached."""
    try:
        if not await asyncio.to_thread(_process_notices().leave_queue, tracker.sender_id):
            return False
    except Exception:
        logger.exception("could not take conversation %s out of the agent queue", tracker.sender_id)
        return False
    text = await rendered_response(self.nlg, LEFT_QUEUE_RESPONSE, tracker, output_channel.name(), LEFT_QUEUE_TEXT)
    await output_channel.send_text_message(tracker.sender_id, text)
    record_bot_back(tracker, LEFT_QUEUE_RESPONSE, text, {"utter_action": LEFT_QUEUE_RESPONSE})
    return True


MessageProcessor._run_prediction_loop = _run_prediction_loop_or_queue_notice  # type: ignore[method-assign]
