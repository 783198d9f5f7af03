"""The widget's socket.io channel: acknowledgements and message ids, with a real socket.io client."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import List

import requests

from tests.channels.conftest import API_TOKEN
from tests.widget_socket import WidgetSocket


def user_texts(url: str, session_id: str) -> List[str]:
    tracker = requests.get(f"{url}/conversations/{session_id}/tracker", params={"token": API_TOKEN}, timeout=30)
    assert tracker.status_code == 200, tracker.text
    return [e.get("text") for e in tracker.json()["events"] if e["event"] == "user"]


def test_a_message_resent_with_its_id_is_acknowledged_and_run_once(channels_url: str) -> None:
    customer = WidgetSocket(channels_url, ["websocket"])
    try:
        message_id = uuid.uuid4().hex
        assert customer.ask("where is my order 10001", message_id) == {"message_id": message_id}
        customer.wait_for_text("email address or ZIP code")
        replies = len(customer.replies)
        # The widget resends a message it got no acknowledgement for (its socket dropped meanwhile).
        assert customer.ask("where is my order 10001", message_id) == {"message_id": message_id}
        # Two resends at once (two tabs reconnecting, say): the conversation lock makes them wait in turn.
        with ThreadPoolExecutor(2) as pool:
            acks = list(pool.map(lambda _: customer.ask("alice@example.com", "same-id-sent-twice"), range(2)))
        assert acks == [{"message_id": "same-id-sent-twice"}] * 2
        customer.wait_for_text("UPS")
        assert user_texts(channels_url, customer.session_id) == ["where is my order 10001", "alice@example.com"]
        assert sum("email address or ZIP code" in t for t in customer.texts()[:replies + 1]) == 1

        # Without an id (older widgets, other clients) every message is a new turn, as before.
        customer.ask("thanks")
        customer.ask("thanks")
        assert user_texts(channels_url, customer.session_id)[-2:] == ["thanks", "thanks"]
        # An id that is not one (wrong type, too long, odd characters) is ignored, not an error.
        for bad in (12345, "x" * 200, "<script>"):
            assert customer.client.call("user_uttered", {"message": "hello", "session_id": customer.session_id,
                                                         "message_id": bad}, timeout=90) == {"message_id": None}
    finally:
        customer.close()
