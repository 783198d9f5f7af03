import pytest

from bot.parsing import (
    EMAIL,
    ORDER_ID,
    ZIP_CODE,
    asks_for_exchange,
    asks_why,
    asks_why_you_cant,
    find_entities,
    has_long_number,
    has_street_address,
    is_narrowing,
    items_named,
    says_no_order_number,
    tasks_by_order,
)


def entities(text):
    return [(s.entity, s.value, s.explicit) for s in find_entities(text)]


def test_order_numbers_in_their_usual_forms() -> None:
    for text in ["where is #10001", "order 10001 pls", "order no. 10001", "10001", "my order number is 10001"]:
        assert [(e, v) for e, v, _ in entities(text)] == [(ORDER_ID, "10001")], text
    assert entities("#10001")[0][2] is True
    assert entities("10001")[0][2] is False


def test_zip_codes_need_words_that_say_so() -> None:
    assert entities("my zip is 94110") == [(ZIP_CODE, "94110", True)]
    assert entities("postal code: 60614") == [(ZIP_CODE, "60614", True)]


@pytest.mark.parametrize("text, zip_code", [
    # Seen in a chat: a new delivery address got "What would you like to do with order 62704?".
    ("123 New Street, Springfield, IL 62704", "62704"),
    ("500 Mission St, San Francisco, CA 94110", "94110"),
    ("New York, NY 10001", "10001"),
    ("Austin, Texas 73301", "73301"),
    ("ship it to 12 Oak Road, Chicago 60614", "60614"),
])
def test_five_digits_ending_a_postal_address_are_its_zip_code(text, zip_code) -> None:
    assert entities(text) == [(ZIP_CODE, zip_code, True)]


@pytest.mark.parametrize("text, order_id", [
    ("is it in 10001", "10001"), ("order 10001 or 10002", "10001"), ("2 items on the way 10001", "10001"),
    ("I live at 12 Oak Road, my order is 10002", "10002"), ("sent to 4 Elm St but order #10004 never came", "10004"),
])
def test_order_numbers_near_address_like_words_stay_order_numbers(text, order_id) -> None:
    assert [(e, v) for e, v, _ in entities(text)][0] == (ORDER_ID, order_id)


def test_a_street_address_is_recognised() -> None:
    assert has_street_address("123 New Street, Springfield, IL 62704")
    assert has_street_address("1600 Pennsylvania Ave NW, Washington, DC 20500")
    assert not has_street_address("2 items on the way")
    assert not has_street_address("it's been 3 days on the road")
    assert not has_street_address("where is order 10001")


def test_email_is_lower_cased_and_its_digits_are_not_an_order() -> None:
    assert entities("Mail: Jo.Smith12345@Example.org") == [(EMAIL, "jo.smith12345@example.org", True)]


def test_longer_numbers_decimals_and_prices_are_not_order_numbers() -> None:
    assert entities("1234567890123456789012345678901234567890") == []
    assert entities("it cost $12345 or 12345.50") == []
    assert has_long_number("call 123456")


def test_order_and_email_together_keep_reading_order() -> None:
    assert [e for e, _, _ in entities("order 10002, email bob@example.com")] == [ORDER_ID, EMAIL]


@pytest.mark.parametrize(
    "text",
    ["i dont have the number", "I forgot it", "I lost it", "no idea", "where do i find my order number?",
     "i can't find it", "I don't remember", "not sure, sorry", "what's an order number?", "I never got a confirmation"],
)
def test_saying_there_is_no_order_number(text) -> None:
    assert says_no_order_number(text)


@pytest.mark.parametrize("text", ["forget it", "never mind", "no", "stop", "10002", "it's bob@example.com", "", None])
def test_other_answers_do_not_say_there_is_no_order_number(text) -> None:
    assert not says_no_order_number(text)


ITEMS = ["Insulated Water Bottle, 1 L", "Carabiner Set (3-pack)"]


@pytest.mark.parametrize("text, named", [
    ("i want to return just the water bottle", ["Insulated Water Bottle, 1 L"]),
    ("only the carabiners please", ["Carabiner Set (3-pack)"]),
    ("send back the bottle and the carabiner set", []),  # every line: the whole order
    ("i want a refund", []),
    ("return the set", []),  # "set" names no line on its own
    ("", []),
])
def test_the_order_lines_a_message_names(text, named):
    assert items_named(text, ITEMS) == named


def test_a_single_line_order_is_always_the_whole_order():
    assert items_named("return the tv", ['Brightview 65" 4K QLED TV']) == []
    assert items_named("refund the tv", ['Brightview 65" 4K QLED TV', "HDMI Cable (2 m)"]) == ['Brightview 65" 4K QLED TV']


@pytest.mark.parametrize("text, narrowing", [
    ("just the carabiners", True), ("actually only the water bottle please", True), ("the bottle only", True),
    ("no, just the lamp", True), ("and the carabiners too", False), ("i just want my money back", False),
    ("just checking where my order is", False), ("only one of them", True),
    # A bare name is one item too (seen in a chat: "the water bottle" to the whole order's offer got the apology).
    ("the water bottle", True), ("the carabiners please", True), ("oh, the bottle", True),
    ("the whole order", False), ("my order", False), ("i want to return the water bottle", False),
    # An item with a reason to send it back (seen in a chat: "the carabiners are too small" to the whole order's
    # offer was read as a complaint, and its "yes" to a person handed the customer off).
    ("the carabiners are too small", True), ("my jacket doesn't fit", True), ("the bottle is the wrong color", True),
    ("actually the tent is way too heavy", True), ("the delivery was too slow", False),
    ("the whole order is too expensive", False), ("the carabiners are great", False),
    # An item with what is wrong with it (seen in a chat: "the bottle is broken" to the whole order's offer got the
    # damaged-item apology, and its "yes" to a person handed the customer off).
    ("the water bottle is broken", True), ("the carabiners arrived damaged", True), ("my bottle leaks", True),
    ("the lamp doesn't work", True), ("the package arrived damaged", False), ("the whole order arrived broken", False),
    ("the delivery guy broke the gate", False),
])
def test_a_refund_narrowed_to_some_items(text, narrowing):
    assert is_narrowing(text) is narrowing


@pytest.mark.parametrize("text, tasks", [
    ("cancel order 10002 and refund 10003", {"10002": "cancel", "10003": "refund"}),
    ("where is 10001 and i want to return 10003", {"10001": "status", "10003": "refund"}),
    ("i want a refund for order 10003 and where is 10001?", {"10003": "refund", "10001": "status"}),
    ("10002 cancel please and 10003 return", {"10002": "cancel", "10003": "refund"}),
    ("where is my refund for 10003, and cancel 10002", {"10003": "refund_status", "10002": "cancel"}),
    # No words of its own: the task of the whole message.
    ("cancel 10002 and 10004", {"10002": "cancel", "10004": "asked"}),
    ("refund 10003 and 10001 please", {"10003": "refund", "10001": "asked"}),
])
def test_each_order_number_gets_the_task_of_its_own_words(text, tasks):
    assert tasks_by_order(text, "asked") == tasks


@pytest.mark.parametrize("text, exchange", [
    # Seen in a chat: "my boots are too big, can i swap them for a smaller pair?" was told orders can't be edited.
    ("my boots are too big, can i swap them for a smaller pair?", True), ("can i exchange it for a different color", True),
    ("i want to swap my order for a bigger size", True), ("do you have it in another size? i'd like to exchange", True),
    ("can i get a replacement instead of my money back?", False), ("could you replace the lamp i got", False),
    ("refund the other pair", False), ("i want a refund", False), ("just the carabiners", False),
    # Seen in a chat: the order number was asked for without the swap's preface.
    ("I ordered the wrong size jacket, can I exchange it?", True), ("can i exchange my tent", True),
    ("can i exchange it for a refund", False),
])
def test_an_exchange_for_another_size_colour_or_model(text, exchange):
    assert asks_for_exchange(text) is exchange


@pytest.mark.parametrize("text, why", [
    ("why?", True), ("but why is that", True), ("no i just want to know why", True), ("no, i'd like to know why", True),
    ("how come?", True), ("why do you need that?", True),
    ("why not", False), ("sure, why not?", False),  # a yes
    ("why is it taking so long", False), ("why did you charge me twice", False),  # name what they ask about
])
def test_a_bare_why_asks_the_reason_for_what_was_just_said(text, why):
    assert asks_why(text) is why


@pytest.mark.parametrize("text, why_not", [
    ("why can't you do it?", True), ("but why cant you just change it for me", True), ("why arent you able to do that?", True),
    ("why can't you ship to mexico", False),  # a question for the help center
    ("why can't i log in", False),
])
def test_asking_why_the_assistant_cant(text, why_not):
    assert asks_why_you_cant(text) is why_not


@pytest.mark.parametrize("text, charged", [
    ("but i was charged!", True), ("they took the money", True),
    ("but i paid for it", True), ("i already paid", True),  # seen in a chat about a cancelled order
    ("how do i pay", False), ("i paid nothing", False), ("paid with paypal, is that ok?", False),
])
def test_a_payment_the_customer_says_was_taken(text, charged):
    from bot.parsing import says_charged

    assert says_charged(text) is charged


@pytest.mark.parametrize("text, refundable", [
    ("hi can you tell me if order 10003 qualifies for a refund", True), ("is my order eligible for a return", True),
    ("what qualifies for a refund", False), ("are electronics returnable", False),
])
def test_a_question_about_one_orders_refund_eligibility(text, refundable):
    from bot.parsing import asks_if_order_is_refundable

    assert asks_if_order_is_refundable(text) is refundable
