"""A stand-in "model" for the fake OpenAI server that answers grounded questions from the passages it was sent.

It reads the JSON user message built by ``bot.kb.grounded.build_messages``, picks the passage sentence
sharing the most words with the question (and, for a short follow-up, the previous customer turn),
and answers with that sentence and its citation; with no shared word it answers nothing. Used by
the action tests and by ``benchmarks/kb_answers.py`` to exercise the LLM path without a real model.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict

from bot.kb.answer import split_sentences
from bot.kb.lexical import tokenize

_NO_ANSWER = {"answer": "", "citations": []}


def _payload(body: Dict[str, Any]) -> Dict[str, Any]:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            try:
                return json.loads(message["content"])
            except (ValueError, TypeError):
                return {}
    return {}


def passage_answering_model(body: Dict[str, Any]) -> Dict[str, Any]:
    """The fake server's ``default``: a JSON reply citing the best-overlapping passage sentence."""
    payload = _payload(body)
    question = payload.get("question", "")
    terms = set(tokenize(question))
    customer_turns = [t["text"] for t in payload.get("conversation", []) if t.get("role") == "customer"]
    if customer_turns and len(terms) <= 3:  # "and for express?" leans on the previous question
        terms |= set(tokenize(customer_turns[-1]))
    best, best_score = None, 0.0
    for passage in payload.get("passages", []):
        for sentence in split_sentences(passage.get("text", "")):
            words = set(tokenize(sentence))
            score = len(terms & words) + 0.5 * len(set(tokenize(passage.get("section", ""))) & terms)
            if score > best_score:
                best, best_score = (passage["n"], sentence), score
    if best is None:
        return _NO_ANSWER
    n, sentence = best
    return {"answer": f"{re.sub(r'[.!?]$', '', sentence)} [{n}].", "citations": [n]}
