"""Async client for OpenAI-compatible chat-completions endpoints that must answer in JSON.

The openai library's own retries are switched off: this module owns retries,
backoff and the circuit breaker so a slow or failing endpoint costs a chat
turn a bounded amount of time and then fails fast.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence

import openai

from bot.llm.cache import VerdictCache, cache_key
from bot.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMRateLimited,
    LLMRequestError,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)
from bot.llm.redaction import redact
from bot.llm.settings import LLMSettings

logger = logging.getLogger(__name__)

Message = Mapping[str, Any]

_FENCE_RE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
# Servers without JSON mode say so in varying words; all of these mention the parameter or the mode.
_RESPONSE_FORMAT_HINTS = ("response_format", "response format", "json_object", "json mode")
# Status codes that say the endpoint itself is misconfigured, so every further call would fail too.
_CONFIG_STATUSES = frozenset({401, 403, 404})


@dataclass(frozen=True)
class LLMResult:
    """A parsed JSON reply with what it cost."""

    data: Dict[str, Any]
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cost_usd: float
    cached: bool = False

    def usage_record(self) -> Dict[str, Any]:
        """Usage fields for parse data / tracing (no content)."""
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": round(self.latency_ms, 1),
            "cost_usd": self.cost_usd,
            "cached": self.cached,
        }


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a pause, letting one probe through."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = max(1, failures)
        self.reset_s = reset_s
        self._clock = clock
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        if self._state == self.OPEN and self._clock() - self._opened_at >= self.reset_s:
            return self.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """True when a call may go out; in half-open only one probe at a time."""
        state = self.state
        if state == self.CLOSED:
            return True
        if state == self.HALF_OPEN and not self._probe_in_flight:
            self._state = self.HALF_OPEN
            self._probe_in_flight = True
            return True
        return False

    def release_probe(self) -> None:
        """Forget an in-flight probe that ended without a verdict (e.g. cancelled)."""
        self._probe_in_flight = False

    def record_success(self) -> None:
        self._state = self.CLOSED
        self._failures = 0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        self._probe_in_flight = False
        if self._state == self.HALF_OPEN or self._failures >= self.failure_threshold:
            self._state = self.OPEN
            self._opened_at = self._clock()


class AsyncLLMClient:
    """Calls a chat-completions endpoint and returns its reply as a JSON object."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        cache: Optional[VerdictCache] = None,
        clock: Callable[[], float] = time.monotonic,
        cache_ttl_s: float = 3600.0,
        max_retry_after_s: float = 2.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.cache_ttl_s = cache_ttl_s
        self.max_retry_after_s = max_retry_after_s
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s, clock)
        self._sleep = sleep
        self._openai: Optional[openai.AsyncOpenAI] = None
        if settings.configured:
            # Explicit values: the openai library would otherwise fall back to reading the environment.
            self._openai = openai.AsyncOpenAI(
                api_key=settings.api_key or "unused",  # local servers (vLLM, Ollama) ignore the key
                base_url=settings.base_url or "https://api.openai.com/v1",
                timeout=settings.timeout_s,
                max_retries=0,
            )

    async def aclose(self) -> None:
        if self._openai is not None:
            await self._openai.close()

    async def __aenter__(self) -> "AsyncLLMClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def complete_json(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        schema_hint: Optional[str] = None,
        temperature: float = 0,
        cache_text: Optional[str] = None,
    ) -> LLMResult:
        """Send ``messages`` (redacted) and parse the reply as a JSON object.

        The cache is keyed by the whole prompt, or by ``cache_text`` alone when given
        (a verdict that depends only on the customer's message).

        Raises ``LLMUnavailable`` (not configured / breaker open), ``LLMTimeout``,
        ``LLMRateLimited``, ``LLMServerError``, ``LLMRequestError`` or ``LLMBadResponse``.
        """
        started = time.perf_counter()
        outgoing = _prepare_messages(messages, schema_hint)
        key = cache_key(model, [{"role": "user", "content": redact(cache_text)}] if cache_text is not None else outgoing)
        # Sampled replies differ run to run, so only deterministic requests are cached.
        use_cache = self.cache is not None and temperature == 0
        if use_cache:
            hit = self.cache.get(key)  # type: ignore[union-attr]
            if hit is not None and isinstance(hit.get("data"), dict):
                return LLMResult(
                    data=hit["data"],
                    model=model,
                    prompt_tokens=0,
                    completion_tokens=0,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    cost_usd=0.0,
                    cached=True,
                )
        if self._openai is None:
            raise LLMUnavailable("no LLM endpoint is configured (set OPENAI_API_KEY or OPENAI_BASE_URL)")
        if not self.breaker.allow():
            raise LLMUnavailable("LLM circuit breaker is open")

        try:
            completion = await self._create_with_retries(outgoing, model, temperature)
        except LLMError as exc:
            if _is_breaker_failure(exc):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # the endpoint answered; the request was at fault
            raise
        except BaseException:
            # Cancellation or a bug: release a half-open probe slot without judging the endpoint.
            self.breaker.release_probe()
            raise
        self.breaker.record_success()

        content = _content_of(completion)
        data = parse_json_object(content)
        usage = getattr(completion, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        result = LLMResult(
            data=data,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            cost_usd=self._cost(model, getattr(completion, "model", None), prompt_tokens, completion_tokens),
        )
        if use_cache:
            self.cache.set(key, {"data": data, "model": model}, self.cache_ttl_s)  # type: ignore[union-attr]
        logger.debug("LLM call %s", result.usage_record())
        return result

    def _cost(self, model: str, served_model: Optional[str], prompt_tokens: int, completion_tokens: int) -> float:
        # Providers report dated snapshots ("gpt-4o-mini-2024-07-18"); the configured name is priced first.
        for name in (model, served_model):
            if name and name in self.settings.prices:
                return self.settings.cost_usd(name, prompt_tokens, completion_tokens)
        return 0.0

    async def _create_with_retries(self, messages: List[Dict[str, Any]], model: str, temperature: float) -> Any:
        json_mode = True
        attempt = 0
        while True:
            try:
                return await self._create_once(messages, model, temperature, json_mode)
            except openai.BadRequestError as exc:
                if json_mode and _rejects_response_format(exc):
                    json_mode = False  # one more try without JSON mode; not counted as a retry
                    continue
                raise LLMRequestError(f"LLM request rejected: {_describe(exc)}", status_code=exc.status_code) from exc
            except (openai.APITimeoutError, asyncio.TimeoutError) as exc:
                error: LLMError = LLMTimeout(f"LLM did not answer within {self.settings.timeout_s}s")
                cause: BaseException = exc
                delay = self._backoff(attempt)
            except openai.RateLimitError as exc:
                retry_after = _retry_after_s(exc.response)
                error = LLMRateLimited(f"LLM rate limited: {_describe(exc)}", retry_after_s=retry_after)
                cause = exc
                if retry_after is not None and retry_after > self.max_retry_after_s:
                    raise error from exc  # waiting that long would stall the conversation
                delay = max(self._backoff(attempt), retry_after or 0.0)
            except openai.APIConnectionError as exc:
                error = LLMServerError(f"LLM endpoint unreachable: {exc}")
                cause = exc
                delay = self._backoff(attempt)
            except openai.APIStatusError as exc:
                if exc.status_code < 500:
                    raise LLMRequestError(f"LLM request rejected: {_describe(exc)}", status_code=exc.status_code) from exc
                error = LLMServerError(f"LLM server error: {_describe(exc)}", status_code=exc.status_code)
                cause = exc
                delay = self._backoff(attempt)
            except openai.OpenAIError as exc:  # e.g. a reply the library cannot validate
                raise LLMBadResponse(f"LLM reply could not be read: {exc}") from exc
            if attempt >= self.settings.max_retries:
                raise error from cause
            attempt += 1
            logger.info("LLM attempt %d failed (%s); retrying in %.2fs", attempt, type(error).__name__, delay)
            await self._sleep(delay)

    async def _create_once(
        self, messages: List[Dict[str, Any]], model: str, temperature: float, json_mode: bool
    ) -> Any:
        assert self._openai is not None
        kwargs: Dict[str, Any] = {"model": model, "messages": messages, "temperature": temperature}
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        # httpx's timeout is per read, so a server trickling bytes could exceed it; this bounds the whole call.
        return await asyncio.wait_for(
            self._openai.chat.completions.create(**kwargs), timeout=self.settings.timeout_s + 0.05
        )

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff_base_s * (2**attempt)
        # Up to 25 % jitter so workers that failed together do not retry in lockstep.
        return base * (1 + random.uniform(0, 0.25))


def _prepare_messages(messages: Sequence[Message], schema_hint: Optional[str]) -> List[Dict[str, Any]]:
    """Redacted copies of ``messages`` with the JSON instruction JSON mode requires."""
    outgoing = [_redact_message(message) for message in messages]
    if schema_hint:
        instruction = f"Respond with a single JSON object matching this schema: {schema_hint}"
    elif not any("json" in _text_of(message).lower() for message in outgoing):
        # OpenAI rejects JSON mode unless the prompt itself mentions JSON.
        instruction = "Respond with a single JSON object."
    else:
        return outgoing
    if outgoing and outgoing[0].get("role") == "system" and isinstance(outgoing[0].get("content"), str):
        outgoing[0] = {**outgoing[0], "content": f"{outgoing[0]['content']}\n\n{instruction}"}
    else:
        outgoing.insert(0, {"role": "system", "content": instruction})
    return outgoing


def _redact_message(message: Message) -> Dict[str, Any]:
    copy = dict(message)
    content = copy.get("content")
    if isinstance(content, str):
        copy["content"] = redact(content)
    elif isinstance(content, list):  # multi-part content: redact the text parts
        copy["content"] = [
            {**part, "text": redact(part["text"])} if isinstance(part, dict) and isinstance(part.get("text"), str) else part
            for part in content
        ]
    return copy


def _text_of(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _content_of(completion: Any) -> str:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise LLMBadResponse("LLM reply has no choices")
    content = getattr(choices[0].message, "content", None)
    if not content:
        raise LLMBadResponse("LLM reply has no content", content=content)
    return content


def parse_json_object(content: str) -> Dict[str, Any]:
    """The JSON object in ``content``, tolerating ```json fences and text around the object."""
    text = content.strip()
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = json.loads(text)
    except ValueError:
        # Small models sometimes wrap the object in a sentence; try the outermost braces.
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise LLMBadResponse("LLM reply is not JSON", content=content) from None
        try:
            value = json.loads(text[start : end + 1])
        except ValueError:
            raise LLMBadResponse("LLM reply is not JSON", content=content) from None
    if not isinstance(value, dict):
        raise LLMBadResponse(f"LLM reply is JSON {type(value).__name__}, not an object", content=content)
    return value


def _is_breaker_failure(exc: LLMError) -> bool:
    """Failures that say the endpoint is unhealthy or unusable, not that one request was bad."""
    if isinstance(exc, (LLMTimeout, LLMRateLimited, LLMServerError)):
        return True
    return isinstance(exc, LLMRequestError) and exc.status_code in _CONFIG_STATUSES


def _rejects_response_format(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {exc.body}".lower()
    return any(hint in text for hint in _RESPONSE_FORMAT_HINTS)


def _retry_after_s(response: Any) -> Optional[float]:
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # HTTP-date form: treat as unknown
        if seconds >= 0:
            return seconds
    return None


def _describe(exc: openai.APIStatusError) -> str:
    return f"HTTP {exc.status_code}: {exc.message}"
