"""The fake server itself: it must behave like the OpenAI API for the real client."""
from __future__ import annotations

import openai
import pytest

from tests.fake_openai import FakeOpenAI, Reply, prompt_text


def test_real_openai_client_round_trip_and_recording(fake_llm: FakeOpenAI) -> None:
    fake_llm.script({"x": 1}, Reply(status=429, error_message="slow down"))
    client = openai.OpenAI(api_key="k", base_url=fake_llm.base_url, max_retries=0, timeout=2)
    try:
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}], temperature=0.2
        )
        assert completion.choices[0].message.content == '{"x": 1}'
        assert completion.model == "gpt-4o-mini"
        assert completion.usage is not None and completion.usage.prompt_tokens == 2
        with pytest.raises(openai.RateLimitError, match="slow down"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "again"}])
        # Script exhausted: the default answers.
        again = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "third"}])
        assert again.choices[0].message.content == '{"ok": true}'
        assert [m.id for m in client.models.list().data] == ["fake-model"]
    finally:
        client.close()
    assert [body["temperature"] for body in fake_llm.requests[:1]] == [0.2]
    assert [prompt_text(body) for body in fake_llm.requests] == ["hello there", "again", "third"]
    assert fake_llm.pending == 0
    assert fake_llm.base_url.endswith("/v1")


def test_default_function_sees_the_request(fake_llm: FakeOpenAI) -> None:
    fake_llm.set_default(lambda body: {"echo": prompt_text(body)})
    client = openai.OpenAI(api_key="k", base_url=fake_llm.base_url, max_retries=0, timeout=2)
    try:
        reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    finally:
        client.close()
    assert reply.choices[0].message.content == '{"echo": "ping"}'


def test_reset_clears_script_and_log(fake_llm: FakeOpenAI) -> None:
    fake_llm.script("a", "b")
    fake_llm.reset()
    assert fake_llm.pending == 0 and fake_llm.requests == []
