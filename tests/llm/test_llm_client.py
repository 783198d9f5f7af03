"""AsyncLLMClient against the fake OpenAI server, through the real openai client."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import List

import pytest

from bot.llm import (
    AsyncLLMClient,
    InMemoryCache,
    LLMBadResponse,
    LLMRateLimited,
    LLMRequestError,
    LLMServerError,
    LLMSettings,
    LLMTimeout,
    LLMUnavailable,
    parse_json_object,
)
from tests.fake_openai import FakeOpenAI, Reply, prompt_text
from tests.llm.helpers import call, run

MESSAGES = [
    {"role": "system", "content": "Classify the customer's message. Answer in JSON."},
    {"role": "user", "content": "Where is my order 10001?"},
]
SHORT_TIMEOUT_S = 0.3  # for the timeout tests only; the fixture's timeout is generous


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Records backoff delays instead of sleeping, so tests see the exact schedule."""

    def __init__(self) -> None:
        self.delays: List[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# -- happy path and parsing -------------------------------------------------------


def test_valid_json_reply_is_parsed_and_request_is_well_formed(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply({"intent": "order_status", "confidence": 0.93}, usage=(120, 15)))
    client = AsyncLLMClient(llm_settings)

    result = run(call(client, MESSAGES, model="gpt-4o-mini"))

    assert result.data == {"intent": "order_status", "confidence": 0.93}
    assert result.model == "gpt-4o-mini"
    assert (result.prompt_tokens, result.completion_tokens) == (120, 15)
    assert result.cached is False
    assert result.latency_ms > 0
    [body] = fake_llm.requests
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][1] == {"role": "user", "content": "Where is my order 10001?"}
    assert fake_llm.log[0].headers["authorization"] == "Bearer test-key"


def test_fenced_json_reply_is_parsed(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script('```json\n{"intent": "greet"}\n```')
    result = run(call(AsyncLLMClient(llm_settings), MESSAGES, model="gpt-4o-mini"))
    assert result.data == {"intent": "greet"}


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('  ```JSON\n{"a": [1, 2]}```  ', {"a": [1, 2]}),
        ('Sure! Here it is: {"a": {"b": 2}} Hope that helps.', {"a": {"b": 2}}),
    ],
)
def test_parse_json_object_accepts(content: str, expected: dict) -> None:
    assert parse_json_object(content) == expected


@pytest.mark.parametrize("content", ["not json", "[1, 2, 3]", '"a string"', "{'single': 'quotes'}", "```json\n{broken\n```", "42"])
def test_parse_json_object_rejects(content: str) -> None:
    with pytest.raises(LLMBadResponse):
        parse_json_object(content)


def test_invalid_json_reply_raises_bad_response_without_retry(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script("I think the intent is order_status.")
    with pytest.raises(LLMBadResponse) as info:
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="gpt-4o-mini"))
    assert info.value.content == "I think the intent is order_status."
    assert len(fake_llm.requests) == 1


def test_json_array_reply_is_a_bad_response(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script('["order_status"]')
    with pytest.raises(LLMBadResponse):
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="gpt-4o-mini"))


def test_empty_content_is_a_bad_response(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(content=None))
    with pytest.raises(LLMBadResponse):
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="gpt-4o-mini"))


def test_schema_hint_and_json_instruction_are_added(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    async def scenario() -> None:
        async with AsyncLLMClient(llm_settings) as client:
            await client.complete_json(
                [{"role": "system", "content": "Classify."}, {"role": "user", "content": "hi"}],
                model="m",
                schema_hint='{"intent": str}',
            )
            # No system message and no mention of JSON: one is inserted (OpenAI requires "JSON" in the prompt).
            await client.complete_json([{"role": "user", "content": "hi"}], model="m")

    run(scenario())
    first, second = fake_llm.requests
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][0]["content"].startswith("Classify.")
    assert '{"intent": str}' in first["messages"][0]["content"]
    assert len(first["messages"]) == 2
    assert second["messages"][0] == {"role": "system", "content": "Respond with a single JSON object."}
    assert second["messages"][1] == {"role": "user", "content": "hi"}


def test_caller_messages_are_not_mutated(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    messages = [{"role": "user", "content": "mail me at jo@example.com"}]
    run(call(AsyncLLMClient(llm_settings), messages, model="m", schema_hint="{}"))
    assert messages == [{"role": "user", "content": "mail me at jo@example.com"}]


# -- redaction ---------------------------------------------------------------------


def test_pii_is_redacted_before_it_reaches_the_server(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    messages = [
        {"role": "system", "content": "Customer profile: jane.doe@example.com, +1 (415) 555-0123. Reply in JSON."},
        {"role": "user", "content": "Refund order 10001 to card 4111 1111 1111 1111 please, total $129.99"},
        {"role": "user", "content": [{"type": "text", "text": "or 5500-0000-0000-0004, ssn 123-45-6789"}]},
    ]
    run(call(AsyncLLMClient(llm_settings), messages, model="gpt-4o-mini"))

    [body] = fake_llm.requests
    raw = json.dumps(body)
    for secret in ("jane.doe@example.com", "555-0123", "4111 1111 1111 1111", "5500-0000-0000-0004", "123-45-6789"):
        assert secret not in raw
    text = prompt_text(body)
    assert "<EMAIL>" in text and "<PHONE>" in text and "<SSN>" in text
    assert text.count("<CARD>") == 2
    # Business data the model needs survives.
    assert "order 10001" in text and "$129.99" in text


# -- timeouts and retries ----------------------------------------------------------


def test_timeout_raises_llm_timeout_quickly(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(delay_s=2.0))
    client = AsyncLLMClient(replace(llm_settings, max_retries=0, timeout_s=SHORT_TIMEOUT_S))
    started = time.monotonic()
    with pytest.raises(LLMTimeout):
        run(call(client, MESSAGES, model="gpt-4o-mini"))
    assert time.monotonic() - started < 1.0
    assert len(fake_llm.requests) == 1


def test_timeout_is_retried_then_succeeds(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(delay_s=1.0), Reply({"intent": "greet"}))
    started = time.monotonic()
    result = run(call(AsyncLLMClient(replace(llm_settings, timeout_s=SHORT_TIMEOUT_S)), MESSAGES, model="gpt-4o-mini"))
    assert result.data == {"intent": "greet"}
    assert len(fake_llm.requests) == 2
    assert time.monotonic() - started < 1.0


def test_429_then_success_is_retried_with_backoff(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=429, error_message="Rate limit reached"), Reply({"intent": "greet"}))
    sleep = RecordingSleep()
    client = AsyncLLMClient(replace(llm_settings, backoff_base_s=0.2), sleep=sleep)

    result = run(call(client, MESSAGES, model="gpt-4o-mini"))

    assert result.data == {"intent": "greet"}
    assert len(fake_llm.requests) == 2
    assert len(sleep.delays) == 1
    assert 0.2 <= sleep.delays[0] <= 0.25  # base backoff plus at most 25 % jitter


def test_429_honours_a_small_retry_after(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=429, headers={"Retry-After": "1.5"}), Reply({"ok": 1}))
    sleep = RecordingSleep()
    client = AsyncLLMClient(llm_settings, sleep=sleep)
    assert run(call(client, MESSAGES, model="m")).data == {"ok": 1}
    assert sleep.delays == [1.5]


def test_429_with_a_long_retry_after_gives_up_at_once(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=429, headers={"Retry-After": "60"}))
    sleep = RecordingSleep()
    with pytest.raises(LLMRateLimited) as info:
        run(call(AsyncLLMClient(llm_settings, sleep=sleep), MESSAGES, model="m"))
    assert info.value.retry_after_s == 60
    assert sleep.delays == []
    assert len(fake_llm.requests) == 1


def test_429_every_time_raises_rate_limited_after_max_retries(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.set_default(lambda body: Reply(status=429))
    sleep = RecordingSleep()
    with pytest.raises(LLMRateLimited):
        run(call(AsyncLLMClient(replace(llm_settings, backoff_base_s=0.2), sleep=sleep), MESSAGES, model="m"))
    assert len(fake_llm.requests) == 3  # first try + max_retries=2
    assert len(sleep.delays) == 2
    assert 0.2 <= sleep.delays[0] <= 0.25 and 0.4 <= sleep.delays[1] <= 0.5  # exponential


def test_500_twice_then_success(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=500), Reply(status=503), Reply({"intent": "refund"}))
    result = run(call(AsyncLLMClient(llm_settings), MESSAGES, model="gpt-4o-mini"))
    assert result.data == {"intent": "refund"}
    assert len(fake_llm.requests) == 3


def test_500_every_time_raises_server_error(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.set_default(lambda body: Reply(status=502))
    with pytest.raises(LLMServerError) as info:
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="m"))
    assert info.value.status_code == 502
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_is_not_retried(fake_llm: FakeOpenAI, llm_settings: LLMSettings, status: int) -> None:
    fake_llm.set_default(lambda body: Reply(status=status, error_message="Invalid value for 'messages'"))
    with pytest.raises(LLMRequestError) as info:
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="m"))
    assert info.value.status_code == status
    assert len(fake_llm.requests) == 1


def test_server_without_json_mode_is_retried_once_without_response_format(
    fake_llm: FakeOpenAI, llm_settings: LLMSettings
) -> None:
    fake_llm.script(
        Reply(status=400, error_message="Unrecognized request argument supplied: response_format"),
        Reply({"intent": "greet"}),
    )
    result = run(call(AsyncLLMClient(llm_settings), MESSAGES, model="llama3"))
    assert result.data == {"intent": "greet"}
    first, second = fake_llm.requests
    assert first["response_format"] == {"type": "json_object"}
    assert "response_format" not in second


def test_response_format_fallback_happens_only_once(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.set_default(lambda body: Reply(status=400, error_message="response_format json_object is not supported"))
    with pytest.raises(LLMRequestError):
        run(call(AsyncLLMClient(llm_settings), MESSAGES, model="m"))
    assert len(fake_llm.requests) == 2


def test_connection_refused_is_a_server_error(llm_settings: LLMSettings) -> None:
    with FakeOpenAI() as closed:
        dead_url = closed.base_url  # nothing listens here once the block ends
    settings = replace(llm_settings, base_url=dead_url, max_retries=1)
    with pytest.raises(LLMServerError) as info:
        run(call(AsyncLLMClient(settings), MESSAGES, model="m"))
    assert info.value.status_code is None


def test_unconfigured_client_is_unavailable_without_any_request() -> None:
    client = AsyncLLMClient(LLMSettings())
    with pytest.raises(LLMUnavailable):
        run(call(client, MESSAGES, model="m"))


def test_base_url_without_api_key_works_for_local_servers(fake_llm: FakeOpenAI) -> None:
    settings = LLMSettings(base_url=fake_llm.base_url, timeout_s=1.0)
    assert run(call(AsyncLLMClient(settings), MESSAGES, model="llama3")).data == {"ok": True}


def test_chat_completions_path_without_v1_is_served(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    settings = replace(llm_settings, base_url=fake_llm.base_url[: -len("/v1")])
    assert run(call(AsyncLLMClient(settings), MESSAGES, model="m")).data == {"ok": True}
    assert fake_llm.log[0].path == "/chat/completions"


# -- circuit breaker ---------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_rejects_fast(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.set_default(lambda body: Reply(status=500))
    settings = replace(llm_settings, max_retries=0, breaker_failures=3)

    async def scenario() -> float:
        async with AsyncLLMClient(settings, clock=FakeClock()) as client:
            for _ in range(3):
                with pytest.raises(LLMServerError):
                    await client.complete_json(MESSAGES, model="m")
            assert client.breaker.state == "open"
            started = time.monotonic()
            with pytest.raises(LLMUnavailable):
                await client.complete_json(MESSAGES, model="m")
            return time.monotonic() - started

    elapsed = run(scenario())
    assert len(fake_llm.requests) == 3  # the rejected call never reached the server
    assert elapsed < 0.05


def test_success_resets_the_failure_count(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=500), Reply(status=500), Reply({"ok": 1}), Reply(status=500), Reply(status=500))
    settings = replace(llm_settings, max_retries=0, breaker_failures=3)

    async def scenario() -> str:
        async with AsyncLLMClient(settings) as client:
            for _ in range(5):
                try:
                    await client.complete_json(MESSAGES, model="m")
                except LLMServerError:
                    pass
            return client.breaker.state

    assert run(scenario()) == "closed"
    assert len(fake_llm.requests) == 5


def test_bad_json_and_bad_requests_do_not_open_the_breaker(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script("nope", "nope", Reply(status=422), Reply(status=400), "nope")
    settings = replace(llm_settings, breaker_failures=2)

    async def scenario() -> str:
        async with AsyncLLMClient(settings) as client:
            for _ in range(5):
                with pytest.raises((LLMBadResponse, LLMRequestError)):
                    await client.complete_json(MESSAGES, model="m")
            return client.breaker.state

    assert run(scenario()) == "closed"


def test_breaker_half_opens_after_reset_and_closes_on_success(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply(status=500), Reply(status=500))
    clock = FakeClock()
    settings = replace(llm_settings, max_retries=0, breaker_failures=2, breaker_reset_s=30.0)

    async def scenario() -> None:
        async with AsyncLLMClient(settings, clock=clock) as client:
            for _ in range(2):
                with pytest.raises(LLMServerError):
                    await client.complete_json(MESSAGES, model="m")
            clock.now += 29.9
            with pytest.raises(LLMUnavailable):
                await client.complete_json(MESSAGES, model="m")
            assert len(fake_llm.requests) == 2
            clock.now += 0.2
            assert client.breaker.state == "half_open"
            result = await client.complete_json(MESSAGES, model="m")  # the probe goes through
            assert result.data == {"ok": True}
            assert client.breaker.state == "closed"
            await client.complete_json(MESSAGES, model="m")

    run(scenario())
    assert len(fake_llm.requests) == 4


def test_failed_probe_reopens_the_breaker(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.set_default(lambda body: Reply(status=503))
    clock = FakeClock()
    settings = replace(llm_settings, max_retries=0, breaker_failures=2, breaker_reset_s=10.0)

    async def scenario() -> None:
        async with AsyncLLMClient(settings, clock=clock) as client:
            for _ in range(2):
                with pytest.raises(LLMServerError):
                    await client.complete_json(MESSAGES, model="m")
            clock.now += 10
            with pytest.raises(LLMServerError):
                await client.complete_json(MESSAGES, model="m")  # the probe fails
            assert client.breaker.state == "open"
            with pytest.raises(LLMUnavailable):
                await client.complete_json(MESSAGES, model="m")
            clock.now += 10
            assert client.breaker.state == "half_open"

    run(scenario())
    assert len(fake_llm.requests) == 3


def test_half_open_lets_only_one_concurrent_probe_through(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    import asyncio

    fake_llm.script(Reply(status=500), Reply({"ok": 1}, delay_s=0.1))
    clock = FakeClock()
    settings = replace(llm_settings, max_retries=0, breaker_failures=1, breaker_reset_s=5.0)

    async def scenario() -> list:
        async with AsyncLLMClient(settings, clock=clock) as client:
            with pytest.raises(LLMServerError):
                await client.complete_json(MESSAGES, model="m")
            clock.now += 5
            return await asyncio.gather(
                client.complete_json(MESSAGES, model="m"),
                client.complete_json(MESSAGES, model="m"),
                return_exceptions=True,
            )

    outcomes = run(scenario())
    assert sum(isinstance(o, LLMUnavailable) for o in outcomes) == 1
    assert sum(getattr(o, "data", None) == {"ok": 1} for o in outcomes) == 1
    assert len(fake_llm.requests) == 2


# -- cost and cache ----------------------------------------------------------------


def test_cost_is_computed_from_usage_and_price_table(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    settings = replace(llm_settings, prices={"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00)})
    fake_llm.script(
        Reply({"a": 1}, usage=(1_000, 200)),
        Reply({"a": 1}, usage=(2_000_000, 1_000_000)),
        Reply({"a": 1}, usage=(1_000, 200), model="gpt-4o-mini-2024-07-18"),
        Reply({"a": 1}, usage=(1_000, 200)),
    )

    async def scenario() -> list:
        async with AsyncLLMClient(settings) as client:
            return [
                await client.complete_json(MESSAGES, model="gpt-4o-mini"),
                await client.complete_json(MESSAGES, model="gpt-4o"),
                await client.complete_json(MESSAGES, model="gpt-4o-mini"),
                await client.complete_json(MESSAGES, model="llama3"),
            ]

    mini, strong, snapshot, unknown = run(scenario())
    assert mini.cost_usd == pytest.approx((1_000 * 0.15 + 200 * 0.60) / 1e6)
    assert strong.cost_usd == pytest.approx(2 * 2.50 + 1 * 10.00)
    assert snapshot.cost_usd == pytest.approx(mini.cost_usd)
    assert unknown.cost_usd == 0.0
    assert mini.usage_record() == {
        "model": "gpt-4o-mini",
        "prompt_tokens": 1_000,
        "completion_tokens": 200,
        "latency_ms": round(mini.latency_ms, 1),
        "cost_usd": mini.cost_usd,
        "cached": False,
    }
    json.dumps(mini.usage_record())  # parse data must be JSON-serialisable


def test_cache_hit_sends_no_request(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply({"intent": "order_status"}, usage=(100, 10)))
    cache = InMemoryCache()

    async def scenario() -> tuple:
        async with AsyncLLMClient(llm_settings, cache=cache) as client:
            first = await client.complete_json(MESSAGES, model="gpt-4o-mini")
            # Same text modulo case and whitespace: same key.
            variant = [dict(m, content="  " + m["content"].upper().replace(" ", "   ")) for m in MESSAGES]
            second = await client.complete_json(variant, model="gpt-4o-mini")
            other_model = await client.complete_json(MESSAGES, model="gpt-4o")
            return first, second, other_model

    first, second, other_model = run(scenario())
    assert first.cached is False and first.cost_usd > 0
    assert second.cached is True
    assert second.data == {"intent": "order_status"}
    assert second.cost_usd == 0.0 and second.prompt_tokens == 0 and second.completion_tokens == 0
    assert second.latency_ms < 50
    assert other_model.cached is False
    assert len(fake_llm.requests) == 2  # first call and the other model only


def test_failures_and_sampled_calls_are_not_cached(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script("not json", Reply({"v": 1}), Reply({"v": 2}), Reply({"v": 3}))
    cache = InMemoryCache()

    async def scenario() -> list:
        async with AsyncLLMClient(llm_settings, cache=cache) as client:
            with pytest.raises(LLMBadResponse):
                await client.complete_json(MESSAGES, model="m")
            return [
                await client.complete_json(MESSAGES, model="m"),
                await client.complete_json(MESSAGES, model="m", temperature=0.7),
                await client.complete_json(MESSAGES, model="m", temperature=0.7),
            ]

    first, sampled_1, sampled_2 = run(scenario())
    assert first.data == {"v": 1} and not first.cached
    assert sampled_1.data == {"v": 2} and sampled_2.data == {"v": 3}
    assert len(fake_llm.requests) == 4
    assert fake_llm.requests[2]["temperature"] == 0.7


def test_cache_serves_while_breaker_is_open(fake_llm: FakeOpenAI, llm_settings: LLMSettings) -> None:
    fake_llm.script(Reply({"intent": "greet"}))
    fake_llm.set_default(lambda body: Reply(status=500))
    settings = replace(llm_settings, max_retries=0, breaker_failures=1)

    async def scenario() -> None:
        async with AsyncLLMClient(settings, cache=InMemoryCache()) as client:
            await client.complete_json(MESSAGES, model="m")
            with pytest.raises(LLMServerError):
                await client.complete_json([{"role": "user", "content": "other JSON"}], model="m")
            assert client.breaker.state == "open"
            hit = await client.complete_json(MESSAGES, model="m")
            assert hit.cached and hit.data == {"intent": "greet"}

    run(scenario())
    assert len(fake_llm.requests) == 2


def test_redis_cache_end_to_end(fake_llm: FakeOpenAI, llm_settings: LLMSettings, redis_url: str) -> None:
    import uuid

    from bot.llm import RedisCache

    fake_llm.script(Reply({"intent": "refund"}))
    prefix = f"brightbay:llm:test:{uuid.uuid4().hex}:"
    messages = [{"role": "user", "content": "refund to 4111 1111 1111 1111, JSON please"}]

    async def scenario() -> tuple:
        async with AsyncLLMClient(llm_settings, cache=RedisCache(redis_url, prefix=prefix)) as client:
            first = await client.complete_json(messages, model="m")
        # A second client (another worker) shares the verdict through Redis.
        async with AsyncLLMClient(llm_settings, cache=RedisCache(redis_url, prefix=prefix)) as client:
            second = await client.complete_json(messages, model="m")
        return first, second

    first, second = run(scenario())
    assert not first.cached and second.cached and second.data == {"intent": "refund"}
    assert len(fake_llm.requests) == 1
    import redis

    keys = redis.Redis.from_url(redis_url).keys(prefix + "*")
    assert len(keys) == 1
    stored = redis.Redis.from_url(redis_url).get(keys[0]).decode()
    assert "4111" not in stored
    redis.Redis.from_url(redis_url).delete(*keys)
