"""A conversation waiting on the LLM must not hold up the others on the same server."""
from __future__ import annotations

import concurrent.futures
import json
import threading

import requests

from bot.db.seed import ensure_demo_data
from bot.db.session import dispose_engines
from tests.fake_openai import FakeOpenAI, prompt_text
from tests.servers import assistant_servers

MARKER = "zzqx"  # only the stalled customer's message holds this


def test_other_conversations_are_answered_while_one_waits_for_the_llm(tmp_path) -> None:
    release = threading.Event()

    def answer(request):
        if MARKER in prompt_text(request):
            release.wait(timeout=30)
            return json.dumps({"intent": "greet", "confidence": 0.9, "sentiment": 0.0, "anger": False})
        return json.dumps({"intent": "track_order", "confidence": 0.9, "sentiment": 0.0, "anger": False})

    database_url = f"sqlite:///{tmp_path / 'brightbay.db'}"
    ensure_demo_data(database_url)
    with FakeOpenAI(default=answer) as fake, assistant_servers(
        # Every message goes to the LLM; only the stalled customer's is held there.
        tmp_path, database_url, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=fake.base_url, LLM_THRESHOLD="1.0"
    ) as rasa_url:
        def say(sender: str, text: str) -> list:
            reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
            return reply.json()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                stalled = pool.submit(say, "stalled", f"{MARKER} hmm so, about that thing")
                assert fake.wait_for_requests(1, timeout_s=60), "the stalled message never reached the LLM"
                # The LLM now holds the first conversation. Another customer must still be served.
                other = say("other", "where is my order 10001")
                assert "email address or ZIP code" in json.dumps(other)
                assert not stalled.done(), "the first conversation should still be waiting on the LLM"
            finally:
                release.set()
            assert stalled.result(timeout=60)  # and it is answered once the LLM replies
    dispose_engines()
