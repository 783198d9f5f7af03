"""The website widget end to end in headless Debian chromium (selenium + chromedriver, `make browser`):
order lookup, history after a reload, quick replies, links, and the live-agent handoff state."""
from __future__ import annotations

import uuid
from typing import Any, Dict, Iterator, List

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.channels.conftest import API_TOKEN
from tests.channels.test_agent_replies_on_platforms import answer_as_agent
from tests.browser import headless_chromium, requires_browser
from tests.fake_platforms import FakePlatforms
from tests.widget_socket import CuttableProxy

REPLY_TIMEOUT = 90

pytestmark = requires_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium("1200,900") as driver:
        yield driver


def wait(driver: WebDriver, condition: Any, timeout: float = REPLY_TIMEOUT) -> Any:
    # The widget redraws its message list when the socket reconnects: an element found a moment ago may be
    # gone when its text is read, which only means "look again".
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def bot_texts(driver: WebDriver) -> List[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".bb-bot, .bb-agent")]


def wait_for_bot_text(driver: WebDriver, needle: str) -> str:
    return wait(driver, lambda d: next((t for t in bot_texts(d) if needle in t), None))


def open_widget(driver: WebDriver, url: str) -> str:
    driver.get(f"{url}/chat/")
    return wait(driver, lambda d: d.find_element(By.ID, "bb-panel").get_attribute("data-session-id"), 30)


def type_message(driver: WebDriver, text: str) -> None:
    field = driver.find_element(By.CSS_SELECTOR, ".bb-input")
    field.send_keys(text)
    field.send_keys(Keys.ENTER)


def test_order_status_then_history_after_reload(browser: WebDriver, channels_url: str) -> None:
    session_id = open_widget(browser, channels_url)
    assert browser.find_element(By.ID, "bb-panel").get_attribute("data-history") == "new"
    type_message(browser, "where is my order 10001")
    wait_for_bot_text(browser, "email address or ZIP code")

    # The typing indicator shows from the moment a message is sent until the reply.
    typing_after_send = browser.execute_script(
        "const f = document.querySelector('.bb-input'); f.value = 'alice@example.com';"
        "document.querySelector('.bb-form').requestSubmit();"
        "return document.querySelector('.bb-typing').classList.contains('bb-visible');"
    )
    assert typing_after_send
    status = wait_for_bot_text(browser, "UPS")
    assert "Order 10001" in status and "tracking number 1Z" in status
    wait(browser, lambda d: not d.find_element(By.CSS_SELECTOR, ".bb-typing").is_displayed(), 10)

    browser.refresh()
    assert open_widget(browser, channels_url) == session_id
    wait(browser, lambda d: d.find_element(By.ID, "bb-panel").get_attribute("data-history") == "loaded", 30)
    users = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".bb-user")]
    assert users[:2] == ["where is my order 10001", "alice@example.com"]
    assert any("Order 10001" in t and "UPS" in t for t in bot_texts(browser))
    assert browser.find_elements(By.CSS_SELECTOR, ".bb-welcome") == []  # a conversation with history has no greeting


def test_a_new_conversation_opens_with_a_greeting_and_questions_to_click(browser: WebDriver, channels_url: str) -> None:
    # Forget the module's earlier conversation only once this page has its session: a session_confirm
    # arriving after reset() would store the old id again, and the reload would show its history.
    open_widget(browser, channels_url)
    browser.execute_script("window.BrightbayChat.reset()")
    open_widget(browser, channels_url)
    welcome = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".bb-welcome")), None), 30)
    assert "virtual assistant, a bot" in welcome.text and "ask for a person" in welcome.text
    chips = browser.find_elements(By.CSS_SELECTOR, ".bb-reply")
    assert [c.text for c in chips] == ["Where is my order?", "Return policy", "Shipping times"]
    chips[1].click()
    wait_for_bot_text(browser, "30 days")
    wait_for_bot_text(browser, "help.brightbay.example/help/returns")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".bb-user")] == ["Return policy"]


def test_quick_reply_button_and_links(browser: WebDriver, channels_url: str) -> None:
    session_id = open_widget(browser, channels_url)
    type_message(browser, "how much is standard shipping")
    link = wait(browser, lambda d: next((a for a in d.find_elements(By.CSS_SELECTOR, ".bb-bot a.bb-link")
                                         if "help.brightbay.example/help/shipping" in (a.get_attribute("href") or "")), None))
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")

    type_message(browser, "who founded brightbay")
    button = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".bb-reply[data-payload='/contact_human_agent']")), None))
    title = button.text
    button.click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".bb-user")[-1].text == title, 10)
    assert not button.is_enabled()  # answered quick replies cannot be clicked twice
    wait_for_bot_text(browser, "support team")  # a real handoff: connecting, or a message taken out of hours

    # A live agent claims the conversation and answers through the agent API: the reply arrives in the widget.
    answer_as_agent(channels_url, FakePlatforms, session_id, "Hi, this is Alice from Brightbay support.")
    wait_for_bot_text(browser, "this is Alice from Brightbay support")
    browser.execute_script("window.localStorage.clear()")  # the next test starts a new conversation


def agent_events(url: str, session_id: str, events: List[Dict[str, Any]]) -> None:
    """What the live-agent channel does: a bot message on the customer's latest channel."""
    reply = requests.post(
        f"{url}/conversations/{session_id}/tracker/events",
        params={"output_channel": "latest", "execute_side_effects": "true", "token": API_TOKEN},
        json=events, timeout=60,
    )
    assert reply.status_code == 200, reply.text


def test_handoff_state_and_agent_reply_in_the_widget(browser: WebDriver, channels_url: str) -> None:
    session_id = open_widget(browser, channels_url)
    banner = browser.find_element(By.CSS_SELECTOR, ".bb-handoff-banner")
    assert not banner.is_displayed()
    type_message(browser, "hi")  # the conversation's latest channel is now this socket
    wait_for_bot_text(browser, "Brightbay")
    agent_events(channels_url, session_id, [
        {"event": "bot", "data": {"custom": {"handoff": "started", "agent": "Sam"}}},
        {"event": "bot", "text": "Hi, I'm Sam from Brightbay support. I can see your order 10001.", "metadata": {"live_agent": True}},
    ])
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".bb-handoff-banner").is_displayed(), 30)
    assert "You are now chatting with a support agent" in banner.text
    agent = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".bb-agent")), None), 30)
    assert "I'm Sam" in agent.text and "Sam" in agent.find_element(By.CSS_SELECTOR, ".bb-agent-name").text

    browser.refresh()  # the handoff state and the agent's message survive a reload
    open_widget(browser, channels_url)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".bb-handoff-banner").is_displayed(), 30)
    assert any("I'm Sam" in e.text for e in browser.find_elements(By.CSS_SELECTOR, ".bb-agent"))

    agent_events(channels_url, session_id, [{"event": "bot", "data": {"custom": {"handoff": "ended"}}}])
    wait(browser, lambda d: not d.find_element(By.CSS_SELECTOR, ".bb-handoff-banner").is_displayed(), 30)


def test_the_widget_catches_up_after_its_connection_drops(browser: WebDriver, channels_url: str) -> None:
    """A customer's network drops: what the agent sent meanwhile shows up, and what they typed is sent once."""
    with CuttableProxy(int(channels_url.rsplit(":", 1)[1])) as proxy:
        session_id = open_widget(browser, proxy.url)
        type_message(browser, "hi")
        wait_for_bot_text(browser, "Brightbay")

        proxy.cut()
        status = lambda d: d.find_element(By.CSS_SELECTOR, ".bb-status").text  # noqa: E731
        wait(browser, lambda d: "reconnecting" in status(d), 30)
        agent_events(channels_url, session_id, [
            {"event": "bot", "text": "Sam here: your replacement ships today.", "metadata": {"live_agent": True}},
        ])
        type_message(browser, "how long does standard shipping take")
        assert browser.execute_script("return window.BrightbayChat.pending()") == 1
        marked = browser.find_elements(By.CSS_SELECTOR, ".bb-user.bb-pending")  # shown as "sending…"
        assert [e.text for e in marked] == ["how long does standard shipping take"]

        proxy.restore()
        wait(browser, lambda d: "online" in status(d), 60)
        wait_for_bot_text(browser, "replacement ships today")
        wait_for_bot_text(browser, "business days")
        wait(browser, lambda d: d.execute_script("return window.BrightbayChat.pending()") == 0, REPLY_TIMEOUT)
        assert browser.find_elements(By.CSS_SELECTOR, ".bb-user.bb-pending") == []

        users = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".bb-user")]
        assert users == ["hi", "how long does standard shipping take"]
        assert sum("replacement ships today" in t for t in bot_texts(browser)) == 1
        tracker = requests.get(f"{channels_url}/conversations/{session_id}/tracker", params={"token": API_TOKEN}, timeout=30)
        assert [e["text"] for e in tracker.json()["events"] if e["event"] == "user"] == users
    browser.execute_script("window.localStorage.clear()")


def test_history_is_only_for_the_session_that_asks(channels_url: str) -> None:
    stranger = requests.get(f"{channels_url}/webhooks/socketio/history/{uuid.uuid4().hex}", timeout=30)
    assert stranger.status_code == 200 and stranger.json()["messages"] == []
    assert requests.get(f"{channels_url}/webhooks/socketio/history/x", timeout=30).status_code == 400
