"""Errors raised by the LLM client; callers catch ``LLMError`` to fall back."""
from __future__ import annotations

from typing import Optional


class LLMError(Exception):
    """Base class for every failure of an LLM call."""


class LLMTimeout(LLMError):
    """The endpoint did not answer within the configured timeout."""


class LLMRateLimited(LLMError):
    """The endpoint kept answering 429 after all retries."""

    def __init__(self, message: str, retry_after_s: Optional[float] = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LLMServerError(LLMError):
    """The endpoint failed: 5xx after all retries, or it could not be reached (``status_code`` None)."""

    def __init__(self, message: str, status_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMRequestError(LLMError):
    """The endpoint rejected the request with a 4xx other than 429; never retried."""

    def __init__(self, message: str, status_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMUnavailable(LLMError):
    """No endpoint is configured, or the circuit breaker is open."""


class LLMBadResponse(LLMError):
    """The reply's content is not a JSON object."""

    def __init__(self, message: str, content: Optional[str] = None) -> None:
        super().__init__(message)
        self.content = content
