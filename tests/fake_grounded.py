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
    scored = []
    for passage in payload.get("passages", []):
        section_terms = set(tokenize(passage.get("section", "")))
        for sentence in split_sentences(passage.get("text", "")):
            score = len(terms & set(tokenize(sentence))) + 0.5 * len(section_terms & terms)
            if score > 0:
                scored.append((score, passage["n"], sentence))
    if not scored:
        return _NO_ANSWER
    scored.sort(key=lambda item: -item[0])
    best = [scored[0]] + [item for item in scored[1:2] if item[1] == scored[0][1]]  # up to two, same passage
    answer = " ".join(f"{re.sub(r'[.!?]$', '', sentence)} [{n}]." for _, n, sentence in best)
    return {"answer": answer, "citations": sorted({n for _, n, _ in best})}
