"""Masks personal data (emails, phones, cards, SSNs, IBANs) before text leaves the bot.

Patterns are deliberately tight where they collide with business data: card
numbers must pass the Luhn check and IBANs the mod-97 check, so order numbers,
prices, dates and ZIP codes pass through untouched.
"""
from __future__ import annotations

import logging
import re
from typing import Callable, List, Match, Pattern, Tuple

EMAIL = "<EMAIL>"
PHONE = "<PHONE>"
CARD = "<CARD>"
SSN = "<SSN>"
IBAN = "<IBAN>"

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")

# 13-19 digits, single spaces or dashes allowed between digits.
_CARD_RE = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d])")

_SSN_RE = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
# Undashed SSNs are only recognisable by the words around them.
_SSN_CONTEXT_RE = re.compile(r"(?i)\b(ssn|social security(?: number| no\.?)?)(\W{1,5})(?!000|666|9\d\d)\d{9}\b")

# NANP numbers: (415) 555-0123, 415-555-0123, 415.555.0123, +1 415 555 0123, 4155550123.
_US_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-]?)[2-9]\d{2}[ .-]?\d{4}(?![\d-])"
)
# Written like a US number but not a valid one ("555-123-4567"): still someone's number as far as the customer
# is concerned, and the groups and separators tell it from order numbers, ZIP codes and dates.
_SEPARATED_PHONE_RE = re.compile(r"(?<![\w+.-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])")
# International: a leading + and 8-15 digits in groups (E.164 length).
_INTL_PHONE_RE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\d])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def _prefixes(text: str, separators: str) -> List[Tuple[str, str]]:
    """(head, tail) splits of ``text`` at separators, longest head first."""
    cuts = [i for i, char in enumerate(text) if char in separators]
    return [(text[:cut], text[cut:]) for cut in reversed(cuts)]


def _replace_iban(match: Match[str]) -> str:
    text = match.group(0)
    # The greedy match may have swallowed a following word ("... 00 AND"); retry shorter heads.
    for head, tail in [(text, "")] + _prefixes(text, " "):
        if _iban_ok(head):
            return IBAN + tail
    return text


def _replace_card(match: Match[str]) -> str:
    text = match.group(0)
    for head, tail in [(text, "")] + _prefixes(text, " -"):
        digits = re.sub(r"\D", "", head)
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            return CARD + tail
    return text


def mask_card_numbers(text: str, placeholder: str = CARD) -> Tuple[str, int]:
    """``text`` with its card numbers (13-19 digits passing the Luhn check) replaced by ``placeholder``,
    and how many there were. Order numbers, prices, dates and phone numbers stay."""
    found = 0

    def replace(match: Match[str]) -> str:
        nonlocal found
        masked = _replace_card(match)
        if masked == match.group(0):
            return masked
        found += 1
        return placeholder + masked[len(CARD):]

    return _CARD_RE.sub(replace, text or ""), found


def _replace_intl_phone(match: Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(0))
    return PHONE if 8 <= digits <= 15 else match.group(0)


_RULES: Tuple[Tuple[Pattern[str], Callable[[Match[str]], str]], ...] = (
    (_EMAIL_RE, lambda m: EMAIL),
    (_IBAN_RE, _replace_iban),
    (_CARD_RE, _replace_card),
    (_SSN_RE, lambda m: SSN),
    (_SSN_CONTEXT_RE, lambda m: m.group(1) + m.group(2) + SSN),
    (_US_PHONE_RE, lambda m: PHONE),
    (_SEPARATED_PHONE_RE, lambda m: PHONE),
    (_INTL_PHONE_RE, _replace_intl_phone),
)


def redact(text: str) -> str:
    """``text`` with emails, phone numbers, card numbers, SSNs and IBANs masked."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks personal data in log records; attach to handlers (or loggers) that may see user text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as-is rather than dropped
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is redacted once here.
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_TRACEBACK_FORMATTER = logging.Formatter()
