"""Settings of the LLM client, read from the environment once at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple

# USD per 1M (prompt, completion) tokens; unknown models cost 0.0.
DEFAULT_PRICES: Mapping[str, Tuple[float, float]] = MappingProxyType(
    {
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
    }
)


@dataclass(frozen=True)
class LLMSettings:
    """Connection, model, retry and breaker settings of ``AsyncLLMClient``."""

    api_key: Optional[str] = None
    base_url: Optional[str] = None
    fast_model: str = "gpt-4o-mini"
    strong_model: str = "gpt-4o"
    timeout_s: float = 3.0
    max_retries: int = 2
    backoff_base_s: float = 0.2
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    prices: Mapping[str, Tuple[float, float]] = field(default=DEFAULT_PRICES)

    @property
    def configured(self) -> bool:
        """True when an endpoint can be called (an API key or a base URL is set)."""
        return bool(self.api_key or self.base_url)

    def price_of(self, model: str) -> Tuple[float, float]:
        """USD per 1M (prompt, completion) tokens of ``model``; (0, 0) when unknown."""
        return tuple(self.prices.get(model, (0.0, 0.0)))  # type: ignore[return-value]

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        prompt_price, completion_price = self.price_of(model)
        return (prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000

    def with_overrides(self, **overrides: Any) -> "LLMSettings":
        return replace(self, **overrides)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> "LLMSettings":
        """Build settings from OPENAI_API_KEY, OPENAI_BASE_URL, LLM_FAST_MODEL,
        LLM_STRONG_MODEL and LLM_TIMEOUT_S; keyword overrides win."""
        values: dict = {
            "api_key": environ.get("OPENAI_API_KEY") or None,
            "base_url": environ.get("OPENAI_BASE_URL") or None,
            "fast_model": environ.get("LLM_FAST_MODEL") or "gpt-4o-mini",
            "strong_model": environ.get("LLM_STRONG_MODEL") or "gpt-4o",
        }
        timeout = environ.get("LLM_TIMEOUT_S")
        if timeout:
            try:
                values["timeout_s"] = float(timeout)
            except ValueError:
                raise ValueError(f"LLM_TIMEOUT_S must be a number of seconds, got {timeout!r}") from None
            if values["timeout_s"] <= 0:
                raise ValueError(f"LLM_TIMEOUT_S must be positive, got {timeout!r}")
        values.update(overrides)
        return cls(**values)
