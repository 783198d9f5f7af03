"""Agent messages reach the customer on the channel they wrote on (what the live-agent channel does).

Through the running server: Rasa's API appends a bot message with ``output_channel=<name>`` and
``execute_side_effects``, which sends it with the registered input channel's
``get_output_channel()``, the same call ``bot.channels.outputs.output_channel_for`` makes.
In process: ``output_channel_for`` for Slack, Messenger and REST.
"""
from __future__ import annotations

import asyncio
import queue
import uuid
from typing import Any, Dict, List

import pytest
import requests
import socketio
from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.facebook import GraphClient
from bot.channels.outputs import output_channel_for
from bot.channels.slack import BrightbaySlackBot
from bot.channels.socketio import handoff_marker
from tests.channels.conftest import API_TOKEN
from tests.fake_platforms import FakePlatforms


def agent_says(url: str, sender: str, channel: str, events: List[Dict[str, Any]]) -> None:
    reply = requests.post(
        f"{url}/conversations/{sender}/tracker/events",
        params={"output_channel": channel, "execute_side_effects": "true", "token": API_TOKEN},
        json=events, timeout=60,
    )
    assert reply.status_code == 200, reply.text


def agent_text(text: str) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"live_agent": True}}


def test_socketio_agent_message_and_handoff_marker_are_pushed_to_the_widget_session(channels_url: str) -> None:
    received: "queue.Queue[Any]" = queue.Queue()
    confirmed: "queue.Queue[str]" = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("bot_uttered", received.put)
    client.on("session_confirm", confirmed.put)
    session_id = uuid.uuid4().hex
    client.connect(channels_url, socketio_path="/socket.io", transports=["websocket", "polling"], wait_timeout=30)
    try:
        client.emit("session_request", {"session_id": session_id})
        assert confirmed.get(timeout=30) == session_id
        client.emit("user_uttered", {"message": "hello", "session_id": session_id})
        assert received.get(timeout=90).get("text")  # the assistant's greeting
        while not received.empty():
            received.get()
        # "latest": the channel the customer last wrote on, as the live agent uses it.
        agent_says(channels_url, session_id, "latest", [
            {"event": "bot", "data": {"custom": handoff_marker("started", agent="Sam")}},
            agent_text("Hi, I'm Sam from Brightbay support. How can I help?"),
        ])
        messages = [received.get(timeout=30), received.get(timeout=30)]
        assert {"custom": {"handoff": "started", "agent": "Sam"}} in messages
        assert any(m.get("text", "").startswith("Hi, I'm Sam") for m in messages)
    finally:
        client.disconnect()


def test_socketio_session_ids_must_be_long_and_random(channels_url: str) -> None:
    confirmed: "queue.Queue[str]" = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", confirmed.put)
    client.connect(channels_url, transports=["websocket", "polling"], wait_timeout=30)
    try:
        client.emit("session_request", {"session_id": "status-1"})  # a REST conversation's id
        assert confirmed.get(timeout=30) not in ("status-1", "")
    finally:
        client.disconnect()
    history = requests.get(f"{channels_url}/webhooks/socketio/history/status-1", timeout=30)
    assert history.status_code == 400


def test_slack_agent_message_reaches_the_customers_dm(channels_url: str, platforms: FakePlatforms) -> None:
    agent_says(channels_url, "U0AGENTCUST", "slack", [agent_text("Hi, Sam here: your refund is approved.")])
    posts = platforms.wait_for(lambda: platforms.slack_posts("U0AGENTCUST"), timeout=30)
    assert posts[0]["body"]["text"] == "Hi, Sam here: your refund is approved."


def test_messenger_agent_message_reaches_the_customer(channels_url: str, platforms: FakePlatforms) -> None:
    agent_says(channels_url, "4242000777", "facebook", [agent_text("Hi, Sam here: your parcel left the depot.")])
    messages = platforms.wait_for(lambda: platforms.graph_messages("4242000777"), timeout=30)
    assert messages[0]["body"]["message"]["text"] == "Hi, Sam here: your parcel left the depot."


def test_output_channel_for_slack_and_messenger_in_process(platforms: FakePlatforms, channel_env: Dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in channel_env.items():
        monkeypatch.setenv(key, value)
    slack = output_channel_for("slack")
    assert isinstance(slack, BrightbaySlackBot)
    asyncio.run(slack.send_text_message("U0INPROC_C0SUPPORT_1700000000.000100", "Sam here, in your thread."))
    post = platforms.wait_for(lambda: platforms.slack_posts("C0SUPPORT"), timeout=10)[0]["body"]
    assert post["text"] == "Sam here, in your thread." and post["thread_ts"] == "1700000000.000100"

    messenger = output_channel_for("facebook")
    assert isinstance(messenger.messenger_client, GraphClient)
    asyncio.run(messenger.send_text_message("4242000888", "Sam here, on Messenger."))
    # Send API calls are queued off the event loop (bot/channels/graph_send_queue.py).
    sent = platforms.wait_for(lambda: platforms.graph_messages("4242000888"), timeout=10)
    assert sent[0]["body"]["message"]["text"] == "Sam here, on Messenger."


def test_output_channel_for_rest_collects_for_the_outbox_and_unknown_channels_fail() -> None:
    rest = output_channel_for("rest")
    assert isinstance(rest, CollectingOutputChannel)
    asyncio.run(rest.send_text_message("customer-42", "Sam here."))
    assert rest.messages == [{"recipient_id": "customer-42", "text": "Sam here."}]
    with pytest.raises(LookupError):
        output_channel_for("socketio")  # only the Rasa process has the socket.io server
    with pytest.raises(LookupError):
        output_channel_for("slack", credentials={})  # Slack not configured
