"""The agent console in a real headless Chromium (Debian's, via selenium + chromedriver):
log in with a token, see the queue, claim, read the card, reply, see the customer's answer
arrive live, add a note, resolve."""
from __future__ import annotations

import time
from typing import Iterator, List

import pytest
import requests

from tests.browser import headless_chromium, requires_browser
from tests.servers import AGENT_TOKEN

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = requires_browser


@pytest.fixture
def browser() -> Iterator["webdriver.Chrome"]:
    with headless_chromium("1400,1000") as driver:
        yield driver


def say(rasa_url: str, sender: str, text: str) -> List[str]:
    reply = requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    return [m.get("text", "") for m in reply.json()]


def customer_inbox(rasa_url: str, sender: str) -> List[str]:
    data = requests.get(f"{rasa_url}/webhooks/live_agent/customer/{sender}/messages", timeout=10).json()
    return [m["text"] for m in data["messages"]]


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_console_login_claim_reply_resolve(handoff_rasa_url: str, browser) -> None:
    rasa_url, sender = handoff_rasa_url, "console-customer-1"
    assert "connecting you" in " ".join(say(rasa_url, sender, "this is the worst service ever, I'm furious"))
    wait = WebDriverWait(browser, 20)

    browser.get(f"{rasa_url}/webhooks/live_agent/console")
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.ID, "login").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "error"), "Invalid token"))

    token = browser.find_element(By.ID, "token")
    token.clear()
    token.send_keys(AGENT_TOKEN)
    browser.find_element(By.ID, "login").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "who"), "alice"))

    item = wait.until(EC.element_to_be_clickable((By.XPATH, f"//div[@id='queue']/div[contains(., '{sender}')]")))
    assert "anger" in item.text and "urgent" in item.text
    item.click()
    wait.until(EC.element_to_be_clickable((By.ID, "claim"))).click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "active by alice"))
    card = browser.find_element(By.ID, "card").text
    assert "anger" in card and "I'm furious" in card and "not verified" in card

    browser.find_element(By.ID, "reply").send_keys("Hi, this is Alice. I'm sorry - let me sort this out.")
    browser.find_element(By.ID, "send").click()
    wait_until(lambda: "Hi, this is Alice. I'm sorry - let me sort this out." in customer_inbox(rasa_url, sender))

    # The customer's answer appears in the console without a reload (server-sent events).
    assert say(rasa_url, sender, "thank you, it is order 10001") == []
    wait.until(EC.text_to_be_present_in_element((By.ID, "transcript"), "thank you, it is order 10001"))

    browser.find_element(By.ID, "note").send_keys("customer calmed down")
    browser.find_element(By.ID, "add-note").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "notes"), "customer calmed down"))

    browser.find_element(By.ID, "resolve").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "resolved"))
    wait_until(lambda: "Is there anything else I can help with?" in customer_inbox(rasa_url, sender))
    assert "business days" in " ".join(say(rasa_url, sender, "how long does shipping take?"))


def test_console_catches_up_after_its_live_stream_drops(handoff_rasa_url: str, browser) -> None:
    """An instance restart or a network drop ends the event stream: the console reconnects and shows
    what the customer wrote in the gap."""
    from tests.widget_socket import CuttableProxy

    rasa_url, sender = handoff_rasa_url, "console-customer-reconnect"
    assert "connecting you" in " ".join(say(rasa_url, sender, "I want to talk to a human agent"))
    wait = WebDriverWait(browser, 30)
    with CuttableProxy(int(rasa_url.rsplit(":", 1)[1])) as proxy:
        browser.get(f"{proxy.url}/webhooks/live_agent/console")
        browser.find_element(By.ID, "token").send_keys(AGENT_TOKEN)
        browser.find_element(By.ID, "login").click()
        wait.until(EC.element_to_be_clickable((By.XPATH, f"//div[@id='queue']/div[contains(., '{sender}')]"))).click()
        wait.until(EC.element_to_be_clickable((By.ID, "claim"))).click()
        stream_live = lambda d: d.find_element(By.ID, "stream-status").text == "live"  # noqa: E731
        wait.until(stream_live)
        assert say(rasa_url, sender, "my order is 10002") == []
        wait.until(EC.text_to_be_present_in_element((By.ID, "transcript"), "my order is 10002"))

        proxy.cut()
        wait.until(EC.text_to_be_present_in_element((By.ID, "stream-status"), "interrupted"))
        assert say(rasa_url, sender, "it was a gift, can it ship to my sister?") == []  # while the console is cut off
        # A reply the agent sends meanwhile is not lost silently: an error, and the text stays to send again.
        browser.find_element(By.ID, "reply").send_keys("Yes, we can ship it to another address.")
        browser.find_element(By.ID, "send").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "send-error"), "Not sent"))
        assert browser.find_element(By.ID, "reply").get_attribute("value") == "Yes, we can ship it to another address."
        proxy.restore()
        wait.until(EC.text_to_be_present_in_element((By.ID, "transcript"), "it was a gift, can it ship to my sister?"))
        wait.until(stream_live)
        browser.find_element(By.ID, "send").click()
        wait_until(lambda: "Yes, we can ship it to another address." in customer_inbox(rasa_url, sender))
        assert browser.find_element(By.ID, "send-error").text == ""
        # Live again: the next message arrives through the stream, and nothing is shown twice.
        assert say(rasa_url, sender, "thanks") == []
        wait.until(EC.text_to_be_present_in_element((By.ID, "transcript"), "thanks"))
        lines = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#transcript .msg")]
        assert len(lines) == len(set(lines)), lines
