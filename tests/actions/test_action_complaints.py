"""Complaints: damaged and wrong items get the policy that fixes them; every reply offers a person."""
import re
from pathlib import Path

import pytest

from action_helpers import DOMAIN, make_tracker, run_action, slot_sets, texts, verified
from actions.complaints import (CHECK_ARRIVAL_FIRST_TEXT, CHECK_DELIVERY_FIRST_TEXT, CHECK_FIRST_TEXT,
                                ActionAnswerComplaint, asks_for_replacement, complaint_response)
from bot.kb.source import ItemWords

KB_ARTICLE = (Path(__file__).resolve().parents[2] / "data" / "kb" / "damaged-items.md").read_text()


@pytest.mark.parametrize(
    "text",
    [
        "my order 10003 arrived broken",
        "the lamp i got is cracked",
        "the tv doesn't turn on",
        "the box was crushed and the blender inside is damaged",
        "my new speaker won't charge",
        "the kettle is leaking everywhere",
        "received a defective camera",
        "i bought a tv and it has dead pixels",  # seen in a chat: got the general apology asking what happened
        "the monitor's screen is flickering",
        # Seen in a chat: "the tent has a hole in it" got the general apology asking what happened.
        "the tent has a hole in it",
        "there's a small tear in the sleeping bag",
        "one of the tent poles snapped",
        "the hiking boots are coming apart at the sole",
        "my blender smells like it's burning",
        "the desk lamp flickers",
        # Seen in a chat: "my espresso machine arrived with a dent" got the general apology asking what happened.
        "my espresso machine arrived with a dent",
        "there are scratches all over the laptop",
        "the mug came chipped",
    ],
)
def test_a_damaged_item_gets_the_damaged_item_policy(text):
    assert complaint_response(text) == "utter_damaged_item"


@pytest.mark.parametrize(
    "text",
    [
        "i received the wrong item",
        "an item is missing from my parcel",
        "you sent me the wrong size",
        "this is not what i ordered",
        "the charger is missing from the box",
        "the package came but the lens cap was missing",
        # Seen in a chat (read as out of scope, it got the damaged-items passage): wrong colour, and a new one asked for.
        "the lamp you sent is the wrong colour, can you send me a new one",
        "this isn't the color i ordered",
        "you shipped me a different size than i ordered",
        # Seen in a chat: got "Please tell me what happened".
        "hi i ordered headphones and a speaker, the speaker came but not the headphones",
        "got the tent but no poles",
        "the kayak arrived without the paddles",
        "the charger wasn't in the box",
    ],
)
def test_a_wrong_or_missing_item_gets_the_wrong_item_policy(text):
    assert complaint_response(text) == "utter_wrong_item"


@pytest.mark.parametrize("text", [
    "i got the email but not the tracking number", "received the confirmation but not the order",
    "i got a refund but not the full amount",
])
def test_something_other_than_an_item_missing_is_not_a_missing_item(text):
    assert complaint_response(text) != "utter_wrong_item"


@pytest.mark.parametrize(
    "text",
    [
        "my parcel says delivered but i never got it",
        "tracking shows delivered, nothing here",
        "it never arrived",
        "I still haven't received my package and it's marked as delivered",
    ],
)
def test_a_parcel_that_never_came_gets_the_missing_parcel_policy(text):
    assert complaint_response(text) == "utter_parcel_not_received"


@pytest.mark.parametrize(
    "text",
    [
        "the delivery guy was rude",
        "i never got a confirmation email, terrible service",
        "you haven't sent my refund, this is a joke",
        "i waited 3 weeks for my package this is unacceptable",
        "your service is terrible",
        "I want to make a complaint",
        "nobody answered my emails",
        "",
        # Words of a defect used otherwise.
        "i have a tear in my eye after reading your reply",
        "i'm smoking mad about this",
    ],
)
def test_other_complaints_get_the_apology(text):
    assert complaint_response(text) == "utter_complaint"


@pytest.mark.parametrize(
    "text",
    ["why is it taking so long?", "can you speed it up?", "this is taking forever", "can't you do it any quicker?",
     "i'm tired of waiting", "still waiting, hurry up"],
)
def test_a_wait_that_is_too_long_gets_what_can_be_done(text):
    # Seen in a chat: "can you speed it up?" after a refund's status got "Is there anything else I can help with?".
    assert complaint_response(text) == "utter_delay"


# Product noun -> department, as the demo catalogue gives them (bot.catalog.item_words).
DEPARTMENTS = {"headphone": "electronics", "speaker": "electronics", "laptop": "electronics", "kettle": "home",
               "tent": "outdoor", "stove": "outdoor"}


@pytest.mark.parametrize("text, response", [
    # Seen in a chat: got the apology. A blender isn't in the catalogue: both warranties.
    ("hi i bought a blender from you and it stopped working after 3 weeks", "utter_stopped_working_any"),
    ("my headphones died after a month", "utter_stopped_working"),
    ("the speaker doesn't turn on anymore", "utter_stopped_working"),
    ("my laptop no longer charges", "utter_stopped_working"),
    # Seen in a chat: "my kettle stopped working after 2 months" got the electronics warranty.
    ("the kettle quit working", "utter_stopped_working_maker"),
    ("my camp stove stopped working after one trip", "utter_stopped_working_maker"),
    ("it stopped working after 2 weeks", "utter_stopped_working_any"),
    ("the laptop and the kettle both stopped working", "utter_stopped_working_any"),
    # Seen in a chat: "i bought a kayak 2 months ago and the seat broke" got "report it within 48 hours of delivery".
    ("i bought a tent 2 months ago and the zipper broke", "utter_stopped_working_maker"),
    ("got these headphones a few weeks ago and the hinge cracked", "utter_stopped_working"),
    ("the kettle i bought last year is leaking", "utter_stopped_working_maker"),
    # Damaged on arrival, whenever it was ordered: the 48-hour report.
    ("i ordered a tent 2 weeks ago and it arrived broken", "utter_damaged_item"),
    ("my headphones came cracked", "utter_damaged_item"),
])
def test_an_item_that_failed_later_gets_the_warranty_of_its_department(text, response):
    assert complaint_response(text, ItemWords(departments=DEPARTMENTS)) == response


def test_the_action_reads_the_departments_from_the_catalogue(order_service):
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory))
    for text, response in [("my kettle stopped working after 2 months", "utter_stopped_working_maker"),
                           ("my kayak stopped holding air after a month", "utter_stopped_working_maker"),
                           ("my earbuds stopped charging", "utter_stopped_working")]:
        _, messages = run_action(action, make_tracker(text=text, intent="complaint"))
        assert [m["response"] for m in messages] == [response], text


def test_without_the_catalogue_the_reply_names_both_warranties():
    class Down:
        def item_words(self):
            raise ConnectionError("database down")

    _, messages = run_action(ActionAnswerComplaint(catalog=Down()), make_tracker(text="my kettle stopped working"))
    assert [m["response"] for m in messages] == ["utter_stopped_working_any"]


def test_the_warranty_facts_are_the_help_centers():
    warranty = (Path(__file__).resolve().parents[2] / "data" / "kb" / "warranty.md").read_text()
    facts = {
        "utter_stopped_working": ["1-year limited warranty from the date of delivery",
                                  "defects in materials and workmanship under normal use", "we repair or replace it"],
        "utter_stopped_working_maker": ["usually 1 or 2 years from the date of delivery",
                                        "not wear and tear or accidental damage", "pass the claim to the maker"],
        "utter_stopped_working_any": ["1-year limited warranty from the date of delivery",
                                      "usually 1 or 2 years from the date of delivery"],
    }
    for response, expected in facts.items():
        text = DOMAIN["responses"][response][0]["text"]
        for fact in expected + ["email support@brightbay.example with your order number, a description of the fault "
                                "and a photo or short video"]:
            assert fact in text and fact in warranty, (response, fact)


@pytest.mark.parametrize("text", ["can you send me a new one", "i want a replacement", "can i swap it for a bigger size"])
def test_a_replacement_gets_who_can_arrange_one(text):
    # Seen in a chat: "can you send me a new one" got the general apology.
    assert complaint_response(text) == "utter_replacement"


@pytest.mark.parametrize("text", [
    "can i get a replacement instead of a refund?", "could you replace it", "i'd like to exchange the kettle",
    "please ship me a working unit",
])
def test_replacement_wordings(text):
    assert asks_for_replacement(text)


@pytest.mark.parametrize("text", [
    "i don't want a replacement, just my money back", "a refund instead of an exchange please",
    "no replacement, refund it", "i want a refund", "my new speaker won't charge", "",
])
def test_not_a_replacement(text):
    assert not asks_for_replacement(text)


def test_the_replacement_facts_are_the_help_centers():
    text = DOMAIN["responses"]["utter_replacement"][0]["text"]
    returns = (Path(__file__).resolve().parents[2] / "data" / "kb" / "returns.md").read_text()
    assert "report it within 48 hours of delivery" in text and "report it within 48 hours of delivery" in KB_ARTICLE
    assert 'Account > Orders > "Report a problem"' in text and 'Account > Orders > "Report a problem"' in KB_ARTICLE
    assert "return it for a refund and place a new order" in text and "return it for a refund and place a new order" in returns


@pytest.mark.parametrize(
    "response",
    ["utter_damaged_item", "utter_wrong_item", "utter_parcel_not_received", "utter_delay", "utter_replacement", "utter_send_missing_item",
     "utter_stopped_working", "utter_stopped_working_maker", "utter_stopped_working_any", "utter_complaint",
     "utter_wrong_charge", "utter_double_charge"],
)
def test_every_reply_offers_a_person(response):
    [variant] = DOMAIN["responses"][response]
    assert {"title": "Yes, connect me", "payload": "/contact_human_agent"} in variant["buttons"]


@pytest.mark.parametrize("response", ["utter_damaged_item", "utter_wrong_item"])
def test_the_policy_facts_are_the_help_centers(response):
    # The replies restate the help-center article; a changed article must change them too.
    text = DOMAIN["responses"][response][0]["text"]
    facts = re.findall(r"\d+ hours|Account > Orders > \"Report a problem\"|support@brightbay\.example|at no cost"
                       r"|replacement or a full refund including shipping|prepaid (?:return )?label", text)
    assert len(facts) >= 3
    for fact in facts:
        assert fact.replace("prepaid label", "prepaid return label") in KB_ARTICLE, fact


def test_the_action_sends_the_response():
    events, messages = run_action(ActionAnswerComplaint(), make_tracker(text="the screen is cracked", intent="complaint"))
    assert events == [] and [m["response"] for m in messages] == ["utter_damaged_item"]


def test_the_missing_parcel_facts_are_the_help_centers():
    text = DOMAIN["responses"]["utter_parcel_not_received"][0]["text"]
    article = (Path(__file__).resolve().parents[2] / "data" / "kb" / "shipping.md").read_text()
    for fact in ("sometimes scan a parcel too early", "wait until the end of the next day",
                 "contact our support team within 7 days", "open a claim with the carrier",
                 "send a replacement or a full refund once the parcel is confirmed lost"):
        assert fact in text and fact in article, fact


def test_a_parcel_not_received_about_the_checked_order_gets_its_own_dates(order_service):
    # Seen in a chat: "i never got it" right after the status of 10001 (shipped, due on Tuesday, March 17 in the
    # tests) got the missing-parcel advice ("carriers sometimes scan a parcel too early").
    from actions.order_status import ON_ITS_WAY_TEXT, ActionOrderStatus, describe_status
    from bot.catalog import ProductCatalog

    status = ActionOrderStatus(order_service)
    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), order_status=status)
    tracker = make_tracker(verified(10001), text="i never got it", intent="complaint")
    order = order_service.verify(10001, "alice@example.com")
    tracker.events = [
        {"event": "user", "text": "where is order 10001", "parse_data": {"intent": {"name": "track_order"}}},
        {"event": "bot", "text": describe_status(order, order_service.today())},
        {"event": "user", "text": "i never got it", "parse_data": {"intent": {"name": "complaint"}}},
    ]
    _, messages = run_action(action, tracker)
    # The status just given is not repeated.
    assert [m.get("text") for m in messages] == [ON_ITS_WAY_TEXT.format(carrier="UPS", eta="on Tuesday, March 17")]
    # Without a checked order: the order is looked up first (its dates say whether it is late or marked delivered).
    events, messages = run_action(action, make_tracker(text="i never got it", intent="complaint"))
    assert texts(messages) == [CHECK_ARRIVAL_FIRST_TEXT]
    assert slot_sets(events[:1]) == [("order_task", "status")] and events[-1]["name"] == "order_form"


@pytest.mark.parametrize("text, said", [
    # Seen in a chat: got the advice for a parcel marked delivered ("carriers sometimes scan a parcel too early")
    # about a TV that had not shipped yet.
    ("my tv hasn't arrived", CHECK_ARRIVAL_FIRST_TEXT),
    ("tracking says delivered but i never got it", CHECK_DELIVERY_FIRST_TEXT),
])
def test_a_parcel_not_received_without_a_checked_order_is_looked_up_first(text, said):
    events, messages = run_action(ActionAnswerComplaint(), make_tracker(text=text, intent="complaint"))
    assert texts(messages) == [said] and slot_sets(events[:1]) == [("order_task", "status")]
    assert events[-1]["name"] == "order_form"
    # While the order check already waits for a number, the advice itself is the answer.
    _, messages = run_action(ActionAnswerComplaint(), make_tracker(text=text, intent="complaint", requested_slot="order_id"))
    assert [m.get("response") for m in messages] == ["utter_parcel_not_received"]


@pytest.mark.parametrize("text, intent", [("can you expedite it?", "out_of_scope"), ("can i get it faster", "complaint"),
                                          ("is there any way to get it sooner", "delivery_period"),
                                          # Seen in a chat: got Express's price and "Choose Express at checkout".
                                          ("can i change it to express shipping?", "delivery_options")])
def test_asking_to_speed_up_the_checked_order_gets_what_can_be_done_for_it(order_service, text, intent):
    # Seen in a chat: "can you expedite it?" after the status of 10002 (being prepared) got "Our support team can't
    # take orders over the phone"; "can i get it faster" got the apology for a delay.
    from actions.answers import ActionAnswerQuestion
    from bot.catalog import ProductCatalog

    catalog = ProductCatalog(order_service.session_factory)
    action = (ActionAnswerComplaint(catalog=catalog, orders=order_service) if intent == "complaint"
              else ActionAnswerQuestion(orders=order_service, catalog=catalog))
    _, messages = run_action(action, make_tracker(verified(10002), text=text, intent=intent))
    assert [m["text"] for m in messages] == [
        "Order 10002 hasn't shipped yet (it should ship tomorrow), and an order's shipping speed can't be "
        "upgraded or expedited after it's placed. If you need it sooner, you can cancel it free of charge and order "
        "again with Express shipping (1-2 business days, $14.99): just say \"cancel my order\"."]
    # On its way: when it arrives; delivered: the usual reply (not this one).
    _, messages = run_action(action, make_tracker(verified(10001), text=text, intent=intent))
    assert messages[0]["text"].startswith("Order 10001 is already on its way with UPS and should arrive on Tuesday, March 17")
    _, messages = run_action(action, make_tracker(verified(10003), text=text, intent=intent))
    assert not any("can't be sped up" in (m.get("text") or "") or "hasn't shipped" in (m.get("text") or "")
                   for m in messages)


def test_asking_for_the_process_while_the_order_check_waits_gets_what_it_needs_not_an_apology(order_service):
    # Seen in a chat: "what's the process?" after an exchange request (the order check asking for the number) was
    # read as a complaint (0.70) and got "I'm sorry about your experience".
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)
    tracker = make_tracker({"order_task": "refund"}, text="what's the process?", intent="complaint",
                           requested_slot="order_id")
    _, messages = run_action(action, tracker)
    assert [m.get("text") for m in messages] == [
        "First I need to check that the order is yours, so I need its order number. Then I'll tell you whether it can "
        "be returned and start the refund once you say yes; we then email you a return label."]
    # Outside the order check, a complaint is answered as one.
    _, messages = run_action(action, make_tracker(text="what's the process?", intent="complaint"))
    assert messages[0].get("response") == "utter_complaint"


@pytest.mark.parametrize("text, task, opening", [
    ("i ordered a kayak paddle last week and it still hasn't shipped, what's going on", "status",
     "I'm sorry it's taking so long. Let me look at the order first"),
    ("my order 10002 was never sent", "status", "I'm sorry it's taking so long. Let me look at the order first"),
    ("this is taking forever, where is my stuff", "status", "I'm sorry it's taking so long. Let me look at the order first"),
    ("still waiting for my refund, this is taking so long", "refund_status",
     "I'm sorry it's taking so long. Let me look at the refund first"),
])
def test_a_delay_with_no_order_checked_looks_the_order_up_first(order_service, text, task, opening):
    # Seen in a chat: "i ordered a kayak paddle last week and it still hasn't shipped, what's going on" got the
    # general apology, "Please tell me what happened".
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)
    events, messages = run_action(action, make_tracker(text=text, intent="complaint"))
    assert messages[0]["text"].startswith(opening) and len(messages) == 1
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "order_form"}
    assert ("order_task", task) in slot_sets(events[:-1])
    # An order number in the complaint is kept for the check.
    assert (("order_id", "10002") in slot_sets(events[:-1])) is ("10002" in text)
    # During another order check, no new one starts.
    _, messages = run_action(action, make_tracker({"order_task": "refund"}, text=text, intent="complaint",
                                                  requested_slot="order_id"))
    assert not any((m.get("text") or "").startswith(opening) for m in messages)


def test_a_delay_about_something_the_order_check_cannot_see_gets_the_delay_reply(order_service):
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)
    for text in ("still waiting for a reply from support", "can you speed it up?"):
        events, messages = run_action(action, make_tracker(text=text, intent="complaint"))
        assert [m.get("response") for m in messages] == ["utter_delay"] and events == []


def test_not_shipped_about_the_checked_order_gets_its_status(order_service):
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)
    _, messages = run_action(action, make_tracker(verified(10002), text="it still hasn't shipped??", intent="complaint"))
    assert messages[0]["text"].startswith("Order 10002 ($1,249.00) was placed")


def test_a_wait_complained_of_about_the_checked_order_gets_its_dates(order_service):
    # Seen in a chat: "why is it taking so long" about order 10001, due in two days, got the apology for a delay and
    # "a support agent can check what's holding it up".
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)
    text = "why is it taking so long"
    tracker = make_tracker(verified(10001), text=text, intent="complaint")
    tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "complaint"}}}]
    _, messages = run_action(action, tracker)
    assert messages[0]["text"].startswith("Order 10001 ($89.90) shipped")
    assert "so it isn't late yet" in messages[1]["text"] and len(messages) == 2
    # Without an order checked, the order is looked up first, as before.
    tracker = make_tracker(text=text, intent="complaint")
    tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "complaint"}}}]
    events, messages = run_action(action, tracker)
    assert texts(messages) == [CHECK_FIRST_TEXT] and (events[-1]["event"], events[-1]["name"]) == ("followup", "order_form")


@pytest.mark.parametrize("text, detail", [
    ("it needs my company name on it", True),  # seen in a chat: got "Please tell me what happened"
    ("the courier just threw it over the fence", True),
    ("why does nobody answer my emails?", False),  # a question: answered as before
])
def test_a_detail_given_while_the_offer_of_an_agent_waits_is_for_the_agent(order_service, text, detail):
    from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)

    def after(buttons):
        tracker = make_tracker(text=text, intent="complaint")
        tracker.events = [
            {"event": "user", "text": "i need an invoice with my company name"},
            {"event": "bot", "text": "... would you like me to connect you with an agent?", "data": {"buttons": buttons}},
            {"event": "user", "text": text},
        ]
        return tracker

    _, messages = run_action(action, after(CONNECT_BUTTONS))
    for_agent = "Thanks, the agent will see that in the summary I pass on. Shall I connect you now?"
    assert (messages[0].get("text") == for_agent) is detail
    # An offer made in passing ("Talk to a person" alone) waits for nothing: the complaint's own reply.
    _, messages = run_action(action, after(OFFER_HUMAN_BUTTONS))
    assert messages[0].get("text") != for_agent


def test_a_damaged_item_named_while_a_returns_order_check_waits_is_a_detail_of_the_return(order_service):
    # Seen in a chat: "the water bottle arrived dented" after "i want to return something" got the damaged-item
    # policy, and the refund offer after the order check covered the whole order.
    from actions.session import REQUEST_DETAIL
    from bot.catalog import ProductCatalog

    action = ActionAnswerComplaint(catalog=ProductCatalog(order_service.session_factory), orders=order_service)

    def reply(text, task="refund", requested_slot="order_id"):
        tracker = make_tracker({"order_task": task}, text=text, intent="complaint", requested_slot=requested_slot)
        tracker.events = [{"event": "user", "text": text, "parse_data": {"intent": {"name": "complaint"}}}]
        [message] = run_action(action, tracker)[1]
        return message

    message = reply("the water bottle arrived dented")
    assert message["response"] == "utter_damaged_item" and message[REQUEST_DETAIL] is True
    # Not for another task, outside the order check, or without one product named.
    for kwargs in ({"task": "status"}, {"requested_slot": None}):
        assert REQUEST_DETAIL not in reply("the water bottle arrived dented", **kwargs)
    assert REQUEST_DETAIL not in reply("it arrived dented")


def _after_the_wrong_item_policy(text, intent):
    tracker = make_tracker(text=text, intent=intent)
    tracker.events = [
        {"event": "user", "text": "my order came without the headphones", "parse_data": {"intent": {"name": "complaint"}}},
        {"event": "bot", "text": "I'm sorry about the mix-up. ...", "metadata": {"utter_action": "utter_wrong_item"}},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
    ]
    return tracker


@pytest.mark.parametrize("text, intent", [
    ("no thanks, can you just send the headphones?", "out_of_scope"),  # seen in a chat: "outside what I can help with"
    ("can you just send me the missing part", "complaint"),  # seen in a chat: the same policy again
    ("please ship the poles", "out_of_scope"),
])
def test_asking_to_send_the_missing_item_gets_that_the_report_or_an_agent_does(text, intent):
    from actions.answers import ActionAnswerQuestion

    action = ActionAnswerComplaint() if intent == "complaint" else ActionAnswerQuestion()
    _, messages = run_action(action, _after_the_wrong_item_policy(text, intent))
    assert [m["response"] for m in messages] == ["utter_send_missing_item"]


@pytest.mark.parametrize("text", ["can you send me the return label", "could you email me the invoice", "just send it"])
def test_asking_to_send_something_else_or_at_another_time_is_not_the_missing_item(text):
    tracker = _after_the_wrong_item_policy(text, "complaint")
    if text == "just send it":
        tracker.events[1]["metadata"] = {"utter_action": "utter_damaged_item"}  # not after the wrong-item policy
    _, messages = run_action(ActionAnswerComplaint(), tracker)
    assert "utter_send_missing_item" not in [m.get("response") for m in messages]


def test_the_send_missing_item_reply_restates_the_help_center():
    text = DOMAIN["responses"]["utter_send_missing_item"][0]["text"]
    assert 'Account > Orders > "Report a problem"' in text and "within 48 hours of delivery" in KB_ARTICLE
    assert "at no cost" in text and "at no cost" in KB_ARTICLE
