"""A message id that a channel's client or platform repeats on a retry is run once, on any instance.

A channel runs its turn with ``run_turn_once(on_new_message, message, message_id)``. Rasa's processor step
that logs the user message (``MessageProcessor._handle_message_with_tracker``, replaced here on
import) runs under the conversation lock with the tracker the turn has just read; when that
tracker already stores a user message with the id, it raises ``TurnAlreadyHandled`` with the
replies that message got, instead of running the turn a second time. Used by the REST channel
(a client's ``message_id``, retried by nginx on another instance), the Slack channel (Slack's
``event_id``, re-sent when Slack thought we were slow), the Messenger channel (a message's
``mid``, in a webhook call Meta delivers again) and the widget's socket.io channel (the widget's
``message_id``, resent after a reconnect until acknowledged).
"""
from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

# Said on Slack and Messenger when a message's turn fails (the tracker store down, say): neither
# platform sends an acknowledged event again, so the customer must hear that it was not read.
NOT_HANDLED_TEXT = (
    "Sorry, something went wrong on our side and I couldn't read your last message. "
    "Please send it again in a minute."
)
REPLY_KEYS = ("image", "buttons", "attachment", "custom")  # what CollectingOutputChannel keeps beside the text


def replies_already_given(tracker: Optional[DialogueStateTracker], message_id: Text) -> Optional[List[Dict[str, Any]]]:
    """The bot's replies to the stored user message with this id, or None when no such message is stored."""
    events = list(tracker.events) if tracker is not None else []
    for index, event in enumerate(events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            replies = []
            for later in events[index + 1:]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):  # the shape the collector gave them the first time
                    extra = {key: later.data.get(key) for key in REPLY_KEYS}
                    replies.append(CollectingOutputChannel._message(tracker.sender_id, later.text, **extra))
            return replies
    return None


# The client's message_id of the current request (set per turn by `turn_once_per_message_id`; None without one).
_client_message_id: contextvars.ContextVar[Optional[Text]] = contextvars.ContextVar("brightbay_client_message_id", default=None)


def current_client_message_id() -> Optional[Text]:
    """The message id the client gave the message being handled (None when it gave none)."""
    return _client_message_id.get()


class TurnAlreadyHandled(Exception):
    """Raised inside the processor when the client's message id is already stored; carries its replies."""

    def __init__(self, replies: List[Dict[str, Any]]) -> None:
        super().__init__("message already handled")
        self.replies = replies


_rasa_handle_message_with_tracker = MessageProcessor._handle_message_with_tracker


async def _handle_message_once(self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker) -> None:
    """Rasa's step that logs the user message, skipped for a client message id already stored.

    It runs under the conversation lock with the tracker the processor has just read, so a retry
    that arrives while the first try is still running waits for the lock and then finds the stored
    turn: no second run, and no extra tracker read per turn.
    """
    client_id = _client_message_id.get()
    if client_id is not None and message.message_id == client_id:
        earlier = replies_already_given(tracker, client_id)
        if earlier is not None:
            raise TurnAlreadyHandled(earlier)
    await _rasa_handle_message_with_tracker(self, message, tracker)


MessageProcessor._handle_message_with_tracker = _handle_message_once  # type: ignore[method-assign]


@contextmanager
def turn_once_per_message_id(message_id: Optional[Text]) -> Iterator[None]:
    """Inside it, a message with this id that its conversation already stores raises TurnAlreadyHandled.

    For channels whose clients or platforms retry a message with the same id: the retry may
    reach any instance.
    """
    token = _client_message_id.set(message_id)
    try:
        yield
    finally:
        _client_message_id.reset(token)


async def run_turn_once(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage, client_message_id: Optional[Text]
) -> Optional[List[Dict[str, Any]]]:
    """Runs the turn of `message`, unless its conversation already stores `client_message_id`:
    then returns the replies that message got (None when the turn ran). Without a client id
    (None) the turn always runs, and no tracker is searched."""
    try:
        with turn_once_per_message_id(client_message_id):
            await on_new_message(message)
    except TurnAlreadyHandled as handled:
        return handled.replies
    return None


async def run_turn_or_apologise(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage, client_message_id: Optional[Text],
    platform: Text,
) -> None:
    """``run_turn_once`` for platforms that never re-send an acknowledged event (Slack, Messenger): a message
    already answered is not answered again, and one whose turn fails gets ``NOT_HANDLED_TEXT``."""
    try:
        if await run_turn_once(on_new_message, message, client_message_id) is not None:
            logger.info("%s message %s was already answered: not answering again", platform, client_message_id)
    except Exception:
        logger.exception("%s message %s of %s could not be handled", platform, client_message_id, message.sender_id)
        try:
            await message.output_channel.send_text_message(message.sender_id, NOT_HANDLED_TEXT)
        except Exception:
            logger.exception("The apology for %s message %s could not be sent either", platform, client_message_id)
