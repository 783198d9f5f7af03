"""Shared LLM client: settings, JSON completions with retries/breaker/cache, PII redaction."""
from bot.llm.cache import InMemoryCache, RedisCache, VerdictCache, cache_key, make_cache
from bot.llm.client import AsyncLLMClient, CircuitBreaker, LLMResult, parse_json_object
from bot.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMRequestError,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)
from bot.llm.redaction import RedactingFilter, redact
from bot.llm.settings import LLMSettings

__all__ = [
    "AsyncLLMClient",
    "CircuitBreaker",
    "InMemoryCache",
    "LLMBadResponse",
    "LLMError",
    "LLMRateLimited",
    "LLMRequestError",
    "LLMResult",
    "LLMServerError",
    "LLMSettings",
    "LLMTimeout",
    "LLMUnavailable",
    "RedactingFilter",
    "RedisCache",
    "VerdictCache",
    "cache_key",
    "make_cache",
    "parse_json_object",
    "redact",
]
