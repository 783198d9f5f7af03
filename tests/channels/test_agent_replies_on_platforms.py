"""A live agent's reply reaches Slack and Messenger customers on their own channel.

The customer writes through the signed webhook, asks for a person and is handed off; an
agent claims the conversation through the agent API and answers; the answer must arrive at
the fake Slack Web API / Graph API, addressed to that customer.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

import requests

from tests.channels.test_slack_messenger import fb_event, post_fb, post_slack, slack_event
from tests.fake_platforms import FakePlatforms
from tests.servers import AGENT_TOKEN


def agent(url: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{url}/webhooks/live_agent{path}", timeout=30,
                            headers={"Authorization": f"Bearer {AGENT_TOKEN}"}, **kwargs)


def answer_as_agent(url: str, platforms: FakePlatforms, conversation_id: str, text: str) -> None:
    handoff = platforms.wait_for(
        lambda: [h for h in agent(url, "GET", "/api/queue").json()["queued"] if h["conversation_id"] == conversation_id],
        timeout=90,
    )[0]
    assert agent(url, "POST", f"/api/handoffs/{handoff['id']}/claim").status_code == 200
    sent = agent(url, "POST", f"/api/handoffs/{handoff['id']}/messages", json={"text": text})
    assert sent.status_code == 200, sent.text


def wait_for_text(platforms: FakePlatforms, messages: Callable[[], List[Dict[str, Any]]], text: str) -> None:
    platforms.wait_for(lambda: text in json.dumps(messages()), timeout=60)


def test_agent_reply_reaches_a_slack_customer(channels_url: str, platforms: FakePlatforms) -> None:
    channel, user = "D0AGENTSLACK", "U0AGENTSLACK"
    assert post_slack(channels_url, slack_event("EvAgent1", user, channel, "I want to talk to a real person")).status_code == 200
    wait_for_text(platforms, lambda: platforms.slack_posts(channel), "support team")
    answer_as_agent(channels_url, platforms, user, "Hi, this is Alice from Brightbay support.")
    # Slack delivers a post addressed to the user id in the app's direct message with them.
    to_customer = lambda: [p for p in platforms.slack_posts() if p["body"].get("channel") in (channel, user)]  # noqa: E731
    wait_for_text(platforms, to_customer, "this is Alice from Brightbay support")


def test_agent_reply_reaches_a_messenger_customer(channels_url: str, platforms: FakePlatforms) -> None:
    psid = "4242000999"
    assert post_fb(channels_url, fb_event(psid, "I want to talk to a real person")).status_code == 200
    wait_for_text(platforms, lambda: platforms.graph_messages(psid), "support team")
    answer_as_agent(channels_url, platforms, psid, "Hi, this is Alice from Brightbay support.")
    wait_for_text(platforms, lambda: platforms.graph_messages(psid), "this is Alice from Brightbay support")
