"""Extractive answers: the most relevant sentences of the best passage, with the source article, or an honest "don't know"."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.kb.documents import INTRO_SECTION
from bot.kb.index import Hit, encode_in_context, encode_text
from bot.kb.lexical import ASKING_WORDS, tokenize

DEFAULT_MIN_RELEVANCE = 0.35  # tuned on data/kb_eval/questions.yml (see benchmarks/kb_retrieval.py)
# The floor for a passage that names the query's rare word: below it the match is a coincidence of spelling.
RARE_TERM_MIN_RELEVANCE = 0.1
OVERLAP_WEIGHT = 0.5
KEEP_RATIO = 0.7  # other sentences join the best one when they score at least this share of it
MAX_SENTENCES = 3
# A section this short (and of at most MAX_SENTENCES) is answered whole; 300 and 320 score the same on data/kb_eval,
# and 320 keeps the returns policy in short (307 characters) whole.
SHORT_PASSAGE_CHARS = 320
CANDIDATE_PASSAGES = 3
INTRO_PENALTY = 0.5
# The retrieval ranking already weighs the whole question (and a follow-up's earlier turns) by meaning and
# by words; a sentence from a lower-ranked passage must beat the top passage's by this much to be chosen.
# ("and for express?" after a standard-shipping question: the express price, not "Express shipping isn't
# available to these addresses" from the PO-box section.) 0.1-0.3 score the same on data/kb_eval.
TOP_PASSAGE_BONUS = 0.15
ASKED_TYPE_BONUS = 0.2  # for a sentence stating the duration or amount asked for; 0.05-0.2 score the same on data/kb_eval
# Per word of the question that one candidate passage holds and the others don't ("uk": international shipping).
UNIQUE_TERM_BONUS = 0.15
# Words that phrase a question rather than name its topic: "take" in "how long does delivery take to germany"
# is held by "Standard shipping to US addresses takes 3-5 business days" alone, and must not outweigh "germany".
# A question that asks for a duration or an amount is answered by a sentence that states one: "and how long
# does it take?" after "do you ship to canada?" wants "7-14 business days" with "We ship to Canada", the
# sentence that shares the earlier turn's words. (question pattern, pattern of a sentence that answers it)
_ANSWER_TYPES = (
    (re.compile(r"\bhow long\b|\bhow many (?:days|weeks|hours|months)\b|\bhow soon\b"
                r"|\bwhen will\b|\bwhen (?:do|does|can|would|am) (?:i|we|it|the|my)\b", re.IGNORECASE),
     re.compile(r"\b\d+(?:[-\u2013]\d+)?\s*(?:business |working )?(?:days?|weeks?|hours?|minutes?|months?|years?)\b", re.IGNORECASE)),
    (re.compile(r"\bhow much\b|\bwhat does it cost\b|\bprice\b|\bfee\b", re.IGNORECASE),
     re.compile(r"\$\d|\bfree\b|\bno (?:\w+ )?fee\b", re.IGNORECASE)),
)
NOT_FOUND = (
    "Sorry, I don't know the answer to that, and I don't want to guess. "
    "I can connect you with one of our support agents if you like."
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
# A sentence that only sends the reader elsewhere ("See the warranty article for what's covered") shares
# the question's words without answering it; the article it names is usually among the passages too.
_POINTER = re.compile(r"^see (?:our|the) [\w -]{0,40}\barticle\b", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """The reply; ``sources`` are (title, url) pairs; ``grounded`` is False when the KB had no relevant passage.

    ``usage`` is the LLM call's usage record (model, tokens, cost) when one was made; ``rejected`` says why
    a model answer was not shown.
    """

    text: str
    sources: List[Tuple[str, str]] = field(default_factory=list)
    grounded: bool = False
    sentences: Tuple[str, ...] = ()
    usage: Optional[Dict[str, Any]] = None
    rejected: Optional[str] = None


def split_sentences(text: str) -> List[str]:
    """Sentences of a passage ("$14.99" and "e.g." style dots inside words don't split)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def relevance(hit: Hit) -> float:
    """How well the best hit answers the query: its cosine similarity."""
    return hit.dense_score


def is_relevant(hit: Hit, min_relevance: float = DEFAULT_MIN_RELEVANCE) -> bool:
    """Whether ``hit`` may answer: close enough in meaning, or, a little less close, the one article naming what the
    query asks about (``Hit.names_rare_term``: "what about klarna", 0.16)."""
    return relevance(hit) >= min_relevance or (hit.names_rare_term and relevance(hit) >= RARE_TERM_MIN_RELEVANCE)


def _overlap(query_terms: set, sentence: str) -> float:
    return len(query_terms & set(tokenize(sentence))) / len(query_terms) if query_terms else 0.0


def _sentence_scores(query: str, sentences: Sequence[str], context: Sequence[str] = ()) -> np.ndarray:
    # Cosine to the query plus term overlap: the overlap rescues exact facts ("amex", "$500") the encoder blurs.
    # A follow-up's earlier turns weigh less in the vector, so its own words lead ("what does it cost?" after
    # "do you ship to canada" wants the price), but their terms count fully: they name the topic.
    # Help-center sentences repeat across questions, so their vectors come from the encoder's cache.
    vectors = np.stack([encode_text(s) for s in sentences])
    terms = set(tokenize(" ".join([*context, query])))
    return vectors @ encode_in_context(query, context) + OVERLAP_WEIGHT * np.array([_overlap(terms, s) for s in sentences])


_OPENING_PRONOUN = re.compile(r"^(?:it|they|this|these|that|those)\b", re.IGNORECASE)


def _under_heading(sentence: str, chunk) -> str:
    if chunk.section == INTRO_SECTION or not _OPENING_PRONOUN.match(sentence):
        return sentence
    return f"{chunk.section}: {sentence}"


def _answer_patterns_asked(question: str) -> List["re.Pattern[str]"]:
    """The patterns of a sentence answering what ``question`` asks for (a duration, an amount), in
    ``_ANSWER_TYPES`` order; empty when it asks for neither."""
    return [answers for asks, answers in _ANSWER_TYPES if asks.search(question)]


def _with_sentence_of_asked_type(query: str, sentences: Sequence[str], keep: List[int], order: List[int]) -> List[int]:
    """``keep`` (indices, best first) with the best-ranked sentence stating the duration or amount the query asks
    for, when none kept states one."""
    for answers in _answer_patterns_asked(query):
        if not any(answers.search(sentences[i]) for i in keep):
            typed = [i for i in order if answers.search(sentences[i])][:1]
            # It takes the place of the lowest-ranked sentence kept when the answer is full.
            return keep[: MAX_SENTENCES - len(typed)] + typed
    return keep


def _terms_only_in(query: str, chunks: Sequence) -> List[set]:
    """For each passage, the query's words that it holds (in its text or section title) and no other does:
    "uk" in "how long does shipping to the uk take" is in the international passage only."""
    words = [set(tokenize(f"{c.section} {c.text}")) for c in chunks]
    asked = set(tokenize(query)) - ASKING_WORDS
    return [
        {w for w in asked & own if not any(w in other for j, other in enumerate(words) if j != i)}
        for i, own in enumerate(words)
    ]


def extract_answer(
    query: str, hits: Sequence[Hit], min_relevance: float = DEFAULT_MIN_RELEVANCE, context: Sequence[str] = ()
) -> Answer:
    """1-3 sentences of the best passage that best match ``query``, ending with the source article's title and link.

    ``context`` holds the earlier user turns a follow-up leans on (oldest first); they weigh less than the query.

    The best passage is the retrieved passage (of the top ``CANDIDATE_PASSAGES``) holding the best-matching
    sentence, so an article's introduction doesn't win over the section that states the fact.
    """
    # Any of the top passages may carry the answer: the fused ranking can put a passage that only shares
    # words with the question first ("and how long do I have?" after a returns question: the returns
    # overview, then the return window).
    candidates = [h.chunk for h in hits[:CANDIDATE_PASSAGES] if is_relevant(h, min_relevance)]
    if not candidates:
        return Answer(NOT_FOUND, [], grounded=False)
    per_chunk = [split_sentences(c.text) or [c.text] for c in candidates]
    flat = [s for sentences in per_chunk for s in sentences]
    owner = [i for i, sentences in enumerate(per_chunk) for _ in sentences]
    # A sentence opening with a pronoun is read under its section's heading: "It is free on orders over $50"
    # is about standard shipping.
    scores = _sentence_scores(query, [_under_heading(f, candidates[o]) for f, o in zip(flat, owner)], context)
    # Introductions, rhetorical questions and pointers to another article rarely state the fact asked for.
    scores -= INTRO_PENALTY * np.array([
        candidates[o].section == INTRO_SECTION or f.endswith("?") or bool(_POINTER.search(f)) for f, o in zip(flat, owner)
    ])
    scores += UNIQUE_TERM_BONUS * np.array([len(only) for only in _terms_only_in(query, candidates)])[owner]
    # A question asking when or how much is answered by a passage stating a duration or an amount ("when will my
    # return be refunded": the refund policy's "within 5-7 business days", not the gift-return sentence that
    # shares "return" and "refunded").
    asked = _answer_patterns_asked(query)
    scores += ASKED_TYPE_BONUS * np.array([any(answers.search(f) for answers in asked) for f in flat])
    chosen_chunk = owner[int(np.argmax(scores + TOP_PASSAGE_BONUS * (np.asarray(owner) == 0)))]
    chunk, sentences = candidates[chosen_chunk], per_chunk[chosen_chunk]
    own = np.array([score for score, o in zip(scores, owner) if o == chosen_chunk])
    order = [int(i) for i in np.argsort(-own)]
    best = float(own[order[0]])
    if len(chunk.text) <= SHORT_PASSAGE_CHARS and len(sentences) <= MAX_SENTENCES:
        # A short section is one answer: "Standard shipping to US addresses takes 3-5 business days. It is free on
        # orders over $50; ..." asked "how much is standard shipping" needs its second sentence, which shares no
        # word with it.
        keep = list(range(len(sentences)))
    else:
        keep = [order[0]] + [i for i in order[1:] if own[i] >= KEEP_RATIO * best][: MAX_SENTENCES - 1]
        keep = _with_sentence_of_asked_type(query, sentences, keep, order)
    chosen = tuple(sentences[i] for i in sorted(keep))
    text = f"{' '.join(chosen)}\n\nSource: {chunk.title} ({chunk.url})"
    return Answer(text, [(chunk.title, chunk.url)], grounded=True, sentences=chosen)


def _sentence_of_the_kind_asked(sentences: Sequence[str], question: str) -> Optional[str]:
    """The first sentence stating a duration for "how long?", an amount for "how much?" (``_ANSWER_TYPES``);
    else None. ("and how long?" after an answer that gave the price and the time shares no word with "arrive in
    7-14 business days".)"""
    asked = _answer_patterns_asked(question)
    return next((sentence for sentence in sentences if asked[0].search(sentence)), None) if asked else None


def narrowed(
    answer: Answer, question: str, asked_before: str = "", min_shared: int = 2, said: str = ""
) -> Optional[Answer]:
    """The sentence of ``answer`` sharing the most words with ``question`` (at least ``min_shared``, not counting
    the words of the question ``asked_before``; of sentences sharing as many, one the reply ``said`` didn't give),
    as an answer of its own; None when none does.

    For a follow-up whose answer was in the reply just given ("will i lose my order history?" after the
    account-deletion answer, which says "Deleting your account also removes your order history."): the
    same reply again reads as not listening, its one sentence answers. The same question asked again shares
    no new word, and keeps the whole answer (and the offer of a person that comes with a repeat).
    """
    terms = set(tokenize(question)) - set(tokenize(asked_before))
    shared = [len(terms & set(tokenize(sentence))) for sentence in answer.sentences]
    if not shared or len(answer.sentences) < 2 or not answer.sources:
        return None
    if max(shared) >= min_shared:
        tied = [sentence for sentence, n in zip(answer.sentences, shared) if n == max(shared)]
        best = next((sentence for sentence in tied if sentence not in said), tied[0])
    else:
        best = _sentence_of_the_kind_asked(answer.sentences, question) if terms else None
        if best is None:
            return None
    return _with_only(answer, (best,))


def without_sentences_said(answer: Answer, said: str, question: str, asked_before: str = "") -> Optional[Answer]:
    """``answer`` without the sentences the reply ``said`` already gave, when some were and others are new; None
    otherwise. ("it says expired" after a promo-code answer that found its passage again: the sentence on expired
    codes is the reply, the ones just read are not.) When the sentence that answers ``question`` (``narrowed``) is
    one already said, that sentence alone: "how much are they" after the gift-card answer is its "$25 to $500",
    and "how much" after the Canada answer, which finds two of its three sentences again, is its "$24.99"."""
    fresh = tuple(sentence for sentence in answer.sentences if sentence not in said)
    if not answer.sources or len(fresh) == len(answer.sentences):
        return None
    # Seen in a chat: "i didn't get the reset email" after the reset steps got their first sentence again, which
    # shares "reset" and "email" with it as much as the sentence on a reset email that doesn't arrive.
    focused = narrowed(answer, question, asked_before, said=said)
    if focused is not None and focused.sentences[0] in said:
        return focused
    return _with_only(answer, fresh) if fresh else None


def _with_only(answer: Answer, sentences: Tuple[str, ...]) -> Answer:
    """``answer`` reduced to ``sentences``, with its first source."""
    title, url = answer.sources[0]
    return Answer(f"{' '.join(sentences)}\n\nSource: {title} ({url})", list(answer.sources), grounded=True,
                  sentences=sentences, usage=answer.usage)

