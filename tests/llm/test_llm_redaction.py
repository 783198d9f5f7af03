"""PII redaction: what must be masked, and the business data that must survive."""
from __future__ import annotations

import logging

import pytest

from bot.llm import RedactingFilter, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        # Emails
        ("mail jane.doe@example.com now", "mail <EMAIL> now"),
        ("JO.SMITH+orders@mail.example.co.uk.", "<EMAIL>."),
        ("a@b.io,c_d@e-f.org", "<EMAIL>,<EMAIL>"),
        # US phones
        ("call (415) 555-0123", "call <PHONE>"),
        ("call 415-555-0123 today", "call <PHONE> today"),
        ("415.555.0123", "<PHONE>"),
        ("+1 415 555 0123", "<PHONE>"),
        ("1-800-555-0199", "<PHONE>"),
        ("text 4155550123", "text <PHONE>"),
        # Written as a US number, though not a valid one
        ("update it to 555-123-4567", "update it to <PHONE>"),
        ("(555) 123-4567", "<PHONE>"),
        ("555.123.4567 please", "<PHONE> please"),
        # International phones
        ("+44 20 7946 0958", "<PHONE>"),
        ("+33 1 23 45 67 89", "<PHONE>"),
        ("+49 (30) 1234567", "<PHONE>"),
        ("+4930123456", "<PHONE>"),
        # Cards (all Luhn-valid test numbers)
        ("card 4111 1111 1111 1111 thanks", "card <CARD> thanks"),
        ("4111-1111-1111-1111", "<CARD>"),
        ("4111111111111111", "<CARD>"),
        ("amex 3782 822463 10005", "amex <CARD>"),
        ("mc 5500 0000 0000 0004.", "mc <CARD>."),
        ("19 digits 6011 1111 1111 1111 110?", "19 digits <CARD>?"),
        ("visa 4222222222222 (13)", "visa <CARD> (13)"),
        ("card 5555 5555 5555 4444 exp 2026", "card <CARD> exp 2026"),
        # SSNs
        ("ssn 123-45-6789", "ssn <SSN>"),
        ("my SSN is 123 45 6789", "my SSN is <SSN>"),
        ("social security number: 123456789", "social security number: <SSN>"),
        # IBANs (mod-97 valid)
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN <IBAN> please"),
        ("GB82WEST12345698765432", "<IBAN>"),
        ("to FR14 2004 1010 0505 0001 3M02 606 AND", "to <IBAN> AND"),
    ],
)
def test_pii_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Where is order 10001?",
        "order #10001 and #10002",
        "I paid $1,299.00 (or 1299.99 EUR) for 3 items",
        "delivered on 2026-03-15 at 10:30",
        "on 03/15/2026 or 15.03.2026",
        "ship to ZIP 94107",
        "ZIP+4 94107-1234",
        "tracking 1Z999AA10123456784",
        "ticket 4111111111111112 is not a card",  # fails Luhn
        "reference 1234 5678 9012 3456",  # fails Luhn
        "between 2024-2025 we sold 1,000,000 units",
        "version 3.6.21, port 5055, error code 500",
        "SKU DE-1234-XL",
        "invalid IBAN DE00 3704 0044 0532 0130 00",  # fails mod-97
        "year 2026 month 03 day 15",
        "",
    ],
)
def test_business_data_survives(text: str) -> None:
    assert redact(text) == text


def test_mixed_message_keeps_order_number_and_masks_the_rest() -> None:
    text = "Order 10001: refund to 4111 1111 1111 1111, email jo@example.com, call +1 (415) 555-0123, zip 94107"
    assert redact(text) == "Order 10001: refund to <CARD>, email <EMAIL>, call <PHONE>, zip 94107"


def test_redact_is_idempotent() -> None:
    once = redact("card 4111 1111 1111 1111, jo@example.com, 415-555-0123")
    assert redact(once) == once


def _capture(logger_name: str) -> tuple:
    records: list = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, records


def test_logging_filter_redacts_message_and_args() -> None:
    logger, records = _capture("brightbay.test.redaction.args")
    logger.info("user said %r about order %d", "my card is 4111-1111-1111-1111", 10001)
    logger.warning("reach me at jane@example.com")
    logger.info("%s", {"card": "4111111111111111"})
    assert records == [
        "user said 'my card is <CARD>' about order 10001",
        "reach me at <EMAIL>",
        "{'card': '<CARD>'}",
    ]


def test_logging_filter_redacts_tracebacks() -> None:
    logger, records = _capture("brightbay.test.redaction.exc")
    try:
        raise ValueError("bad card 4111 1111 1111 1111")
    except ValueError:
        logger.exception("payment failed for jo@example.com")
    [record] = records
    assert "4111" not in record and "jo@example.com" not in record
    assert "<CARD>" in record and "<EMAIL>" in record and "Traceback" in record


def test_card_numbers_alone_are_masked_and_counted() -> None:
    from bot.llm.redaction import mask_card_numbers

    text = "card 4111 1111 1111 1111 and 5555-5555-5555-4444, order 10001, zip 94110, bob@example.com"
    masked, found = mask_card_numbers(text, "[card]")
    assert found == 2
    assert masked == "card [card] and [card], order 10001, zip 94110, bob@example.com"
    assert mask_card_numbers("4111 1111 1111 1112 fails Luhn", "[card]") == ("4111 1111 1111 1112 fails Luhn", 0)
