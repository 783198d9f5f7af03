"""Slack and Messenger: signed events to the real webhooks, replies at the fake Slack Web API / Graph API."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Dict, Optional

import requests

from bot.channels.webhook_inbox import SqliteWebhookInbox
from tests.channels.conftest import FB_SECRET, FB_VERIFY, SLACK_SIGNING_SECRET
from tests.fake_platforms import FakePlatforms


def slack_headers(body: bytes, secret: str = SLACK_SIGNING_SECRET, retry: Optional[int] = None) -> Dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"})
    return headers


def slack_event(event_id: str, user: str, channel: str, text: str) -> bytes:
    return json.dumps({
        "token": "legacy-verification-token", "team_id": "T0TEST", "api_app_id": "A0TEST", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()), "authorizations": [{"user_id": "U0BOT"}],
        "event": {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
                  "ts": f"{time.time():.6f}", "client_msg_id": event_id},
    }).encode()


def post_slack(url: str, body: bytes, **kwargs: Any) -> requests.Response:
    return requests.post(f"{url}/webhooks/slack/webhook", data=body, headers=slack_headers(body, **kwargs), timeout=30)


def texts(posts: list) -> str:
    return " ".join(p["body"].get("text", "") for p in posts)


def test_slack_order_lookup_reply_reaches_the_web_api_once(channels_url: str, platforms: FakePlatforms) -> None:
    channel = "D0ALICE"
    first = post_slack(channels_url, slack_event("Ev001", "U0ALICE", channel, "where is my order 10001"))
    assert first.status_code == 200
    platforms.wait_for(lambda: "email address or ZIP code" in texts(platforms.slack_posts(channel)), timeout=90)
    before = len(platforms.slack_posts(channel))

    email = slack_event("Ev002", "U0ALICE", channel, "<mailto:alice@example.com|alice@example.com>")
    assert post_slack(channels_url, email).status_code == 200
    posts = platforms.wait_for(lambda: [p for p in platforms.slack_posts(channel)[before:] if "UPS" in p["body"].get("text", "")], timeout=90)
    assert "Order 10001" in posts[0]["body"]["text"]
    assert posts[0]["headers"].get("Authorization") == "Bearer xoxb-test-token"

    # Slack re-sends the same event (it thought we were slow): acknowledged, no second reply.
    count = len(platforms.slack_posts(channel))
    retry = post_slack(channels_url, email, retry=1)
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    time.sleep(4)
    assert len(platforms.slack_posts(channel)) == count


def test_slack_rejects_a_wrong_signature_and_answers_url_verification(channels_url: str, platforms: FakePlatforms) -> None:
    body = slack_event("Ev100", "U0MALLORY", "D0MALLORY", "where is my order 10001")
    forged = post_slack(channels_url, body, secret="not-the-signing-secret")
    assert forged.status_code == 400
    unsigned = requests.post(f"{channels_url}/webhooks/slack/webhook", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert unsigned.status_code == 400

    challenge = json.dumps({"type": "url_verification", "token": "t", "challenge": "c-123"}).encode()
    assert post_slack(channels_url, challenge).json() == {"challenge": "c-123"}
    assert post_slack(channels_url, challenge, secret="wrong").status_code == 400
    time.sleep(2)
    assert platforms.slack_posts("D0MALLORY") == []


def fb_event(psid: str, text: str) -> bytes:
    return json.dumps({
        "object": "page",
        "entry": [{"id": "PAGE1", "time": int(time.time() * 1000), "messaging": [{
            "sender": {"id": psid}, "recipient": {"id": "PAGE1"}, "timestamp": int(time.time() * 1000),
            "message": {"mid": f"mid.{psid}.{time.time()}", "text": text},
        }]}],
    }).encode()


def post_fb(url: str, body: bytes, secret: str = FB_SECRET, header: str = "X-Hub-Signature-256") -> requests.Response:
    method = "sha256" if header.endswith("256") else "sha1"
    signature = f"{method}=" + hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
    return requests.post(f"{url}/webhooks/facebook/webhook", data=body, timeout=30,
                         headers={"Content-Type": "application/json", header: signature})


def test_messenger_verification_handshake(channels_url: str) -> None:
    url = f"{channels_url}/webhooks/facebook/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY, "hub.challenge": "1158201444"}, timeout=30)
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = requests.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, timeout=30)
    assert wrong.status_code == 403 and "1" != wrong.text
    no_mode = requests.get(url, params={"hub.verify_token": FB_VERIFY, "hub.challenge": "1"}, timeout=30)
    assert no_mode.status_code == 403


def test_messenger_order_lookup_reply_reaches_the_graph_api(channels_url: str, platforms: FakePlatforms) -> None:
    psid = "4242000001"
    assert post_fb(channels_url, fb_event(psid, "where is my order 10001")).status_code == 200
    platforms.wait_for(lambda: "email address or ZIP code" in json.dumps(platforms.graph_messages(psid)), timeout=90)
    before = len(platforms.graph_messages(psid))
    # Older apps still get only the SHA-1 header; it is accepted too.
    assert post_fb(channels_url, fb_event(psid, "alice@example.com"), header="X-Hub-Signature").status_code == 200
    replies = platforms.wait_for(lambda: [c for c in platforms.graph_messages(psid)[before:] if "UPS" in json.dumps(c["body"])], timeout=90)
    assert "Order 10001" in replies[0]["body"]["message"]["text"]
    assert replies[0]["query"]["access_token"] == "page-access-token-for-tests"
    assert replies[0]["query"]["appsecret_proof"]


def test_a_messenger_event_left_by_a_killed_process_is_answered_by_the_server(
    channels_url: str, channels_inbox_db: Path, platforms: FakePlatforms
) -> None:
    """A process killed after acknowledging an event leaves it in the SQLite inbox; the server running now
    (a restarted process on one host) answers it at its next check, once. Its own events it keeps."""
    psid = "4242000401"
    dead = SqliteWebhookInbox(channels_inbox_db, "facebook", dead_after_s=0.1)
    key = asyncio.run(dead.add(json.loads(fb_event(psid, "where is my order 10001"))))  # and never beats again
    platforms.wait_for(lambda: "email address or ZIP code" in json.dumps(platforms.graph_messages(psid)), timeout=60)
    # Answered, so forgotten; and not answered a second time at the next checks.
    platforms.wait_for(lambda: _inbox_keys(channels_inbox_db) == [], timeout=30)
    assert key not in _inbox_keys(channels_inbox_db)
    time.sleep(11)  # one more check (every 10 s)
    assert len([m for m in platforms.graph_messages(psid) if "ZIP code" in json.dumps(m)]) == 1


def _inbox_keys(path: Path) -> list:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT key FROM inbox")]


def test_messenger_rejects_a_wrong_signature(channels_url: str, platforms: FakePlatforms) -> None:
    psid = "4242000666"
    assert post_fb(channels_url, fb_event(psid, "where is my order 10001"), secret="wrong").status_code == 403
    unsigned = requests.post(f"{channels_url}/webhooks/facebook/webhook", data=fb_event(psid, "hi"), timeout=30,
                             headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403
    time.sleep(2)
    assert platforms.graph_messages(psid) == []


def fb_messaging(psid: str, mid: str, text: str) -> Dict[str, Any]:
    now = int(time.time() * 1000)
    return {"sender": {"id": psid}, "recipient": {"id": "PAGE1"}, "timestamp": now, "message": {"mid": mid, "text": text}}


def test_messenger_batched_webhook_answers_every_message_once_even_when_delivered_again(
    channels_url: str, platforms: FakePlatforms
) -> None:
    """Meta batches messages of several people into one call and re-delivers calls it thinks failed."""
    alice, bob, carol = "4242000101", "4242000102", "4242000103"
    now = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [
        {"id": "PAGE1", "time": now, "messaging": [
            fb_messaging(alice, f"m_{alice}_1", "where is my order 10001"),
            {"sender": {"id": alice}, "recipient": {"id": "PAGE1"}, "delivery": {"mids": ["m_earlier"], "watermark": now}},
            # The page's own reply, echoed back: never answered.
            {"sender": {"id": "PAGE1"}, "recipient": {"id": alice}, "timestamp": now,
             "message": {"is_echo": True, "mid": f"m_echo_{alice}", "text": "Which email address?"}},
            # A malformed attachment event must not stop the events after it.
            {"sender": {"id": carol}, "recipient": {"id": "PAGE1"}, "timestamp": now,
             "message": {"mid": f"m_{carol}_1", "attachments": []}},
        ]},
        {"id": "PAGE1", "time": now, "messaging": [fb_messaging(bob, f"m_{bob}_1", "hello")]},
    ]}).encode()
    assert post_fb(channels_url, body).status_code == 200

    platforms.wait_for(lambda: "email address or ZIP code" in json.dumps(platforms.graph_messages(alice)), timeout=90)
    platforms.wait_for(lambda: platforms.graph_messages(bob), timeout=90, settle=3)
    answered = {psid: len(platforms.graph_messages(psid)) for psid in (alice, bob)}
    assert answered[bob] >= 1, "the second message of the batch was dropped"
    assert platforms.graph_messages("PAGE1") == [] and platforms.graph_messages(carol) == []

    # Delivered again (same mids): acknowledged, not answered a second time.
    assert post_fb(channels_url, body).status_code == 200
    time.sleep(6)
    assert {psid: len(platforms.graph_messages(psid)) for psid in (alice, bob)} == answered

    # A new message of the same conversation is answered as usual.
    follow_up = json.dumps({"object": "page", "entry": [{"id": "PAGE1", "time": now, "messaging": [
        fb_messaging(alice, f"m_{alice}_2", "alice@example.com")]}]}).encode()
    assert post_fb(channels_url, follow_up).status_code == 200
    platforms.wait_for(lambda: "UPS" in json.dumps(platforms.graph_messages(alice)[answered[alice]:]), timeout=90)


def test_a_hanging_graph_api_stalls_no_other_conversation(channels_url: str, platforms: FakePlatforms) -> None:
    """Rasa's Messenger output posted with blocking requests and no timeout, inside the event loop."""
    psid = "4242000201"
    platforms.graph_gate.clear()
    try:
        assert post_fb(channels_url, fb_event(psid, "hello")).status_code == 200
        to_customer = lambda: [c for c in platforms.calls if c["path"].endswith("/me/messages")  # noqa: E731
                               and c["body"].get("recipient", {}).get("id") == psid]
        platforms.wait_for(to_customer, timeout=90)  # the first Send API call is now hanging
        # Meanwhile a website customer is answered (the bound is the failure mode, not a target).
        reply = requests.post(f"{channels_url}/webhooks/rest/webhook", timeout=45,
                              json={"sender": "rest-while-graph-hangs", "message": "how long does standard shipping take"})
        assert reply.status_code == 200 and "business days" in json.dumps(reply.json())
        assert not platforms.graph_gate.is_set() and not platforms.graph_messages(psid)
    finally:
        platforms.graph_gate.set()
    # Once Meta answers again, the Messenger customer gets the reply, after the sender actions.
    platforms.wait_for(lambda: platforms.graph_messages(psid), timeout=90)
    actions = [c["body"].get("sender_action") or "message" for c in to_customer()]
    assert actions.index("mark_seen") < actions.index("message")
