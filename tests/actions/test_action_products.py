"""A customer who says the checked order isn't what they bought, right after being told it doesn't hold the
product they named: whatever the message is read as, the same answer (real SQLite database and catalogue)."""
import pytest

from action_helpers import make_tracker, run_action, texts, verified
from actions.answers import ActionAnswerQuestion
from actions.complaints import ActionAnswerComplaint
from actions.order_status import NOT_IN_THIS_ORDER_TEXT, ActionOrderStatus
from bot.catalog import ProductCatalog
from bot.kb.source import KnowledgeSource

CONNECT = ["/contact_human_agent", "/deny"]


class _NoHelpCenter(KnowledgeSource):
    """The help center must not be searched for these messages."""

    def search(self, query, history=()):
        raise AssertionError(f"searched the help center for {query!r}")


@pytest.fixture
def reading_as(order_service):
    catalog = ProductCatalog(order_service.session_factory)
    return {
        "out_of_scope": ActionAnswerQuestion(_NoHelpCenter(), orders=order_service, catalog=catalog),
        "complaint": ActionAnswerComplaint(catalog=catalog, orders=order_service),
        "track_order": ActionOrderStatus(order_service, catalog),
    }


def _after_not_in_order(text, intent, **message):
    """Order 10001 (a speaker and a cable) was checked for "where is the tent i ordered"; then ``text``."""
    tracker = make_tracker(verified(10001), text=text, intent=intent, **message)
    tracker.events = [
        {"event": "user", "text": "where is the tent i ordered, order 10001", "parse_data": {"intent": {"name": "track_order"}}},
        {"event": "bot", "text": NOT_IN_THIS_ORDER_TEXT.format(order_id=10001), "metadata": {"awaits_order_number": "status"}},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
    ]
    return tracker


@pytest.mark.parametrize("text, intent", [
    ("that's not what i ordered. i ordered a tent", "out_of_scope"),
    ("but i ordered a tent", "track_order"),
    ("i didn't order that, i bought a tent", "complaint"),
])
def test_saying_the_order_is_not_what_was_bought_gets_the_two_ways_on(reading_as, text, intent):
    # Seen in a chat: "that's not what i ordered. i ordered a tent" got "Sorry, that's outside what I can help with".
    events, messages = run_action(reading_as[intent], _after_not_in_order(text, intent))
    assert texts(messages) == [
        "Order 10001 holds Portable Bluetooth Speaker; USB-C Charging Cable (2 m). If you bought the tent in another "
        "order, tell me that order's number and I'll check it. If order 10001 should have had the tent, a support "
        "agent can look into what happened. Would you like me to connect you with one?"
    ]
    assert [b["payload"] for b in messages[0]["buttons"]] == CONNECT and events == []
    # Another order's number still goes on with the status ("oh wait, it was 10003").
    assert messages[0]["awaits_order_number"] == "status"


def test_the_product_is_named_in_the_customers_words(reading_as):
    # "a sony tv" is not the store's Brightview TV; a message naming no product says "that item".
    for text, named in (("that isn't my order, i bought a sony tv", "the tv"), ("that's not my order", "that item")):
        _, messages = run_action(reading_as["out_of_scope"], _after_not_in_order(text, "out_of_scope"))
        [reply] = texts(messages)
        assert f"If you bought {named} in another order" in reply and "Brightview" not in reply


def test_the_same_words_elsewhere_or_with_an_order_number_go_their_usual_way(reading_as):
    # With another order's number, the status action checks that order (the order form took the number).
    _, messages = run_action(reading_as["track_order"], _after_not_in_order("i ordered a tent in order 10003", "track_order"))
    assert "should have had" not in " ".join(m.get("text") or "" for m in messages)
    # Without the "not in this order" reply just before, a complaint is a complaint.
    tracker = make_tracker(verified(10001), text="i didn't order that", intent="complaint")
    tracker.events = [{"event": "user", "text": "i didn't order that", "parse_data": {"intent": {"name": "complaint"}}}]
    _, messages = run_action(reading_as["complaint"], tracker)
    assert messages and "should have had" not in " ".join(m.get("text") or "" for m in messages)


def _answering(order_service):
    return ActionAnswerQuestion(_NoHelpCenter(), orders=order_service, catalog=ProductCatalog(order_service.session_factory))


@pytest.mark.parametrize("text, name", [
    ("is the tent waterproof?", "Ultralight 2-Person Tent"),  # seen in a chat: got the outdoor items' warranty
    ("what colors does the rain jacket come in", "Rain Shell Jacket"),
])
def test_a_question_about_a_products_details_gets_its_page(order_service, text, name):
    [reply] = run_action(_answering(order_service), make_tracker(text=text, intent="out_of_scope"))[1]
    assert reply["text"].startswith(f"I don't have the details of the {name} here: its product page (")
    assert "/OD-30" in reply["text"] and reply["buttons"][0]["payload"] == "/contact_human_agent"


@pytest.mark.parametrize("text, name", [
    ("hi, is the espresso machine any good?", "Espresso Machine with Grinder"),  # seen in a chat: "outside what I can help with"
    ("would you recommend the kayak?", "Inflatable Kayak, 2-Person"),
])
def test_a_question_about_a_products_worth_gets_its_page_and_a_follow_up_its_price(order_service, text, name):
    action = _answering(order_service)
    [reply] = run_action(action, make_tracker(text=text, intent="out_of_scope"))[1]
    assert reply["text"].startswith(f"I can't judge products myself, but the product page of the {name} (")
    # The page is the reply's source, so "how much is it" next is about that product (it got "I don't know").
    [page] = reply["kb_answer"]["sources"]
    tracker = make_tracker(text="how much is it", intent="out_of_scope")
    tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "out_of_scope"}}},
                      {"event": "bot", "text": reply["text"], "metadata": {"kb_answer": reply["kb_answer"]}},
                      {"event": "user", "text": "how much is it", "parse_data": {"intent": {"name": "out_of_scope"}}}]
    _, messages = run_action(action, tracker)
    assert messages[0]["text"].startswith(f"The {name} costs $") and page in messages[0]["text"]
    # "how much does it weigh" is a detail, not the price (seen in a chat: the tent's price): the help center
    # (which has nothing on it), then the page.
    class EmptyHelpCenter(KnowledgeSource):
        def search(self, query, history=()):
            return []

    tracker.events[-1]["text"] = tracker.latest_message["text"] = "how much does it weigh"
    action = ActionAnswerQuestion(EmptyHelpCenter(), orders=order_service, catalog=ProductCatalog(order_service.session_factory))
    [message] = run_action(action, tracker)[1]
    assert message["text"].startswith("I only have the price here. The product page") and page in message["text"]
    assert "costs $" not in message["text"]
    # Its page is the reply's source, so "ok i'll take it" next gets where to order it.
    assert message["kb_answer"]["sources"] == [page]
    from actions.products import BUY_ON_PAGE_TEXT, ActionYesWithNothingToConfirm

    tracker.events += [{"event": "bot", "text": message["text"], "metadata": {"kb_answer": message["kb_answer"]}},
                       {"event": "user", "text": "ok i'll take it", "parse_data": {"intent": {"name": "affirm"}}}]
    tracker.latest_message = {"text": "ok i'll take it", "intent": {"name": "affirm", "confidence": 0.86}}
    [message] = run_action(ActionYesWithNothingToConfirm(), tracker)[1]
    assert message["text"] == BUY_ON_PAGE_TEXT.format(url=page)


def test_a_policy_question_about_a_product_goes_to_the_help_center(order_service):
    class RecordingHelpCenter(KnowledgeSource):
        asked = []

        def search(self, query, history=()):
            self.asked.append(query)
            return []

    help_center = RecordingHelpCenter()
    action = ActionAnswerQuestion(help_center, orders=order_service, catalog=ProductCatalog(order_service.session_factory))
    text = "can i return the tent if it isn't waterproof?"
    _, messages = run_action(action, make_tracker(text=text, intent="out_of_scope"))
    assert help_center.asked and "product page" not in " ".join(m.get("text") or "" for m in messages)


def _after_the_price_of(text, url):
    tracker = make_tracker(text=text, intent="affirm")
    tracker.events = [
        {"event": "user", "text": "how much is the tent", "parse_data": {"intent": {"name": "out_of_scope"}}},
        {"event": "bot", "text": "The Ultralight 2-Person Tent costs $389.00.",
         "metadata": {"kb_answer": {"grounded": True, "sources": [url]}}},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "affirm"}}},
    ]
    return tracker


@pytest.mark.parametrize("text", ["ok i'll take it", "great, i want to buy one"])
def test_wanting_to_buy_the_product_just_priced_gets_where_to_order_it(text):
    from actions.products import BUY_ON_PAGE_TEXT, ActionYesWithNothingToConfirm

    url = "https://brightbay.example/products/OD-3001"
    [message] = run_action(ActionYesWithNothingToConfirm(), _after_the_price_of(text, url))[1]
    assert message["text"] == BUY_ON_PAGE_TEXT.format(url=url)


@pytest.mark.parametrize("text, url", [
    ("yes", "https://brightbay.example/products/OD-3001"),  # no wish to buy in it
    ("ok i'll take it", "https://help.brightbay.example/help/shipping"),  # not after a product
])
def test_any_other_yes_with_nothing_to_confirm_gets_the_capabilities(text, url):
    from actions.products import ActionYesWithNothingToConfirm

    [message] = run_action(ActionYesWithNothingToConfirm(), _after_the_price_of(text, url))[1]
    assert message["response"] == "utter_capabilities"


@pytest.mark.parametrize("text, expected", [
    # Seen in a chat: got what the assistant can do.
    ("can you do it now please", "agent"),
    ("yes", "capabilities"),  # not a request to act
])
def test_asking_the_bot_to_do_what_the_reply_said_our_support_team_does_gets_the_offer_of_a_person(text, expected):
    from actions.fallback import AGENT_CAN_DO_IT_TEXT
    from actions.products import ActionYesWithNothingToConfirm

    tracker = make_tracker(text=text, intent="affirm")
    tracker.events = [
        {"event": "user", "text": "so when do i get it back", "parse_data": {"intent": {"name": "check_refund_policy"}}},
        {"event": "bot", "text": "If both charges have gone through, contact our support team: they check the payment and "
                                 "refund the extra charge to the same card within 5-7 business days."},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "affirm"}}},
    ]
    [message] = run_action(ActionYesWithNothingToConfirm(), tracker)[1]
    if expected == "agent":
        assert message["text"] == AGENT_CAN_DO_IT_TEXT and message["buttons"][0]["payload"] == "/contact_human_agent"
    else:
        assert message["response"] == "utter_capabilities"
    # After a reply that names no one who does it, the same request gets what the assistant can do.
    tracker.events[1]["text"] = "Refunds go to your original payment method within 5-7 business days."
    assert run_action(ActionYesWithNothingToConfirm(), tracker)[1][0]["response"] == "utter_capabilities"


def test_asking_to_buy_the_product_just_priced_in_the_chat_gets_where_to_order_it(order_service):
    # Seen in a chat: "can i buy it here in the chat" (place_order) after the laptop's page got the cart steps, not that
    # the assistant can't take the order, nor the product's page.
    from actions.products import BUY_ON_PAGE_TEXT

    class EmptyHelpCenter(KnowledgeSource):
        def search(self, query, history=()):
            return []

    action = ActionAnswerQuestion(EmptyHelpCenter(), orders=order_service, catalog=ProductCatalog(order_service.session_factory))
    url = "https://brightbay.example/products/OD-3001"
    tracker = _after_the_price_of("can i buy it here in the chat", url)
    tracker.latest_message["intent"] = {"name": "place_order", "confidence": 0.94}
    tracker.events[-1]["parse_data"] = {"intent": {"name": "place_order"}}
    [message] = run_action(action, tracker)[1]
    assert message["text"] == BUY_ON_PAGE_TEXT.format(url=url)
    # Not after a product: the intent's own reply (the help center has nothing here).
    tracker.events[1]["metadata"]["kb_answer"]["sources"] = ["https://help.brightbay.example/help/shipping"]
    [message] = run_action(action, tracker)[1]
    assert message["response"] == "utter_place_order"


@pytest.mark.parametrize("source, expected", [
    # Seen in a chat: "can you do it for me" after how to change one's phone number got what the assistant can do.
    ("https://help.brightbay.example/help/account", "agent"),
    # After an answer about something the assistant does itself (a cancellation), not the offer of a person.
    ("https://help.brightbay.example/help/cancel-order", "capabilities"),
])
def test_asking_the_bot_to_make_an_account_change_just_explained_gets_the_offer_of_a_person(source, expected):
    from actions.fallback import AGENT_CAN_DO_IT_TEXT
    from actions.products import ActionYesWithNothingToConfirm

    tracker = make_tracker(text="can you do it for me", intent="affirm")
    tracker.events = [
        {"event": "user", "text": "and my phone number?", "parse_data": {"intent": {"name": "edit_account"}}},
        {"event": "bot", "text": "You can change your name, email, phone number and preferences under Account > Profile.",
         "metadata": {"kb_answer": {"grounded": True, "sources": [source]}}},
        {"event": "user", "text": "can you do it for me", "parse_data": {"intent": {"name": "affirm"}}},
    ]
    [message] = run_action(ActionYesWithNothingToConfirm(), tracker)[1]
    if expected == "agent":
        assert message["text"] == AGENT_CAN_DO_IT_TEXT and message["buttons"][0]["payload"] == "/contact_human_agent"
    else:
        assert message["response"] == "utter_capabilities"
