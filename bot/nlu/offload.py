"""Runs Rasa's NLU graph on worker threads, off the server's event loop.

Rasa 3.6 parses each message synchronously inside the event loop
(`MessageProcessor.parse_message` calls `_parse_message_with_graph`), so an NLU
component that waits one second for an LLM freezes every other conversation on
that server for that second. `enable()` makes `parse_message` await the graph on
a thread pool instead; the per-conversation lock Rasa already holds keeps the
turns of one conversation in order. It also hands the conversation's recent
turns to NLU components through `recent_turns()`, which Rasa's graph does not.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: Optional[ThreadPoolExecutor] = None
_context = threading.local()

Turn = Tuple[str, str]  # ("customer" | "assistant", text)


def recent_turns() -> List[Turn]:
    """The turns before the message being parsed on this thread (oldest first)."""
    return list(getattr(_context, "turns", ()) or ())


def turns_from_tracker(tracker: Any, limit: int = 6) -> List[Turn]:
    turns: List[Turn] = []
    for event in reversed(getattr(tracker, "events", []) or []):
        name = getattr(event, "type_name", None)
        text = getattr(event, "text", None)
        if name == "user" and text:
            turns.append(("customer", text))
        elif name == "bot" and text:
            turns.append(("assistant", text))
        if len(turns) >= limit:
            break
    return list(reversed(turns))


def enable(workers: int = 16) -> None:
    """Patch Rasa's processor once per process; later calls only resize nothing."""
    global _executor
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    with _lock:
        if _executor is not None:
            return
        _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nlu")
        original = MessageProcessor.parse_message

        def parse_with_context(processor: Any, message: Any, tracker: Any, only_output: bool) -> Dict[str, Any]:
            _context.turns = turns_from_tracker(tracker)
            try:
                return processor._parse_message_with_graph(message, tracker, only_output)
            finally:
                _context.turns = None

        async def parse_message(
            self: Any, message: Any, tracker: Any = None, only_output_properties: bool = True
        ) -> Dict[str, Any]:
            if self.http_interpreter:
                return await original(self, message, tracker, only_output_properties)
            if tracker is None:
                tracker = DialogueStateTracker.from_events(message.sender_id, [])
            loop = asyncio.get_running_loop()
            parse_data = await loop.run_in_executor(
                _executor, parse_with_context, self, message, tracker, only_output_properties
            )
            self._update_full_retrieval_intent(parse_data)
            self._check_for_unseen_features(parse_data)
            return parse_data

        MessageProcessor.parse_message = parse_message
        logger.info("NLU runs on %d worker threads, off the event loop", workers)
