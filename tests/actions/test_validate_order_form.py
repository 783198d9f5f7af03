"""ValidateOrderForm: what it reads from each answer and how failed checks are counted."""
import pytest

from action_helpers import DOMAIN, make_tracker, run_action, slot_sets, texts, verified
from actions.fallback import CONNECT_BUTTONS, OFFER_HUMAN_BUTTONS, PROBLEM_TEXT
from actions.verification import (
    CORRECTION_TEXT,
    EXCHANGE_TEXT,
    NUMBER_OR_ZIP_TEXT,
    FIND_ORDER_NUMBER_TEXT,
    ActionAskOrderId,
    ActionAskOrderTask,
    NOT_VERIFIED_TEXT,
    STOPPED_TEXT,
    ActionStopOrderForm,
    ValidateOrderForm,
)
from actions.session import REQUEST_DETAIL
from bot.nlu.message_guard import EMPTY


@pytest.fixture
def form(order_service):
    return ValidateOrderForm(service=order_service)


def test_reads_order_number_when_the_form_starts(form):
    tracker = make_tracker(text="where is my order #10001", intent="track_order")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", "10001")]
    assert messages == []


def test_reads_email_answer_to_identity_question(form):
    tracker = make_tracker({"order_id": "10003"}, text="it's Alice@Example.com", requested_slot="order_identity")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_identity", "alice@example.com")]
    assert messages == []


def test_bare_five_digits_answering_identity_question_is_a_zip(form):
    # Bob's ZIP code is 10001, which is also an order number.
    tracker = make_tracker({"order_id": "10002"}, text="10001", requested_slot="order_identity")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_identity", "10001")]
    assert messages == []


def test_a_new_delivery_address_is_not_read_as_the_orders_zip_code_unless_the_zip_was_asked_for(form):
    # Seen in a chat: "it's 55 Oak Lane, Portland OR 97201" to the offer to check whether order 10001's address can
    # change (10001 checked earlier with alice@example.com) was checked as 10001's ZIP code: a failed check.
    text = "it's 55 Oak Lane, Portland OR 97201"
    events, messages = run_action(form, make_tracker(verified(10001), text=text, intent="inform"))
    assert slot_sets(events) == [] and messages == []
    # Asked for the ZIP code, an address holding it answers the question.
    events, _ = run_action(form, make_tracker({"order_id": "10001"}, text="55 Oak Lane, San Francisco CA 94110",
                                              requested_slot="order_identity"))
    assert slot_sets(events) == [("order_identity", "94110")]


def test_correct_pair_in_one_message_sets_both_without_failure(form):
    tracker = make_tracker(text="order 10004, my email is carol@example.com", intent="track_order")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", "10004"), ("order_identity", "carol@example.com")]
    assert messages == []


@pytest.mark.parametrize(
    "order_id, answer",
    [("10001", "bob@example.com"), ("10999", "alice@example.com")],
    ids=["wrong-email", "unknown-order"],
)
def test_failed_check_clears_both_slots_and_counts(form, order_id, answer):
    tracker = make_tracker({"order_id": order_id, "verification_failures": 1.0}, text=answer,
                           requested_slot="order_identity")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [
        ("order_id", None), ("order_identity", None), ("verification_failures", 2.0),
        ("order_check_tried", {"order_id": order_id, "order_identity": answer}),
    ]
    assert texts(messages) == [NOT_VERIFIED_TEXT]


@pytest.mark.parametrize("identity", ["alice@example.com", "94110"], ids=["owner-email", "owner-zip"])
def test_values_given_before_the_task_are_checked_when_the_form_starts(form, identity):
    # "10001" ... "alice@example.com" ... "where is it?": both kept by action_ask_order_task, unchecked.
    tracker = make_tracker({"order_id": "10001", "order_identity": identity}, text="where is it?", intent="track_order")
    events, messages = run_action(form, tracker)
    assert events == [] and messages == []


def test_a_wrong_pair_given_before_the_task_counts_as_a_failed_check(form):
    tracker = make_tracker({"order_id": "10001", "order_identity": "bob@example.com"}, text="cancel it",
                           intent="cancel_order")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [
        ("order_id", None), ("order_identity", None), ("verification_failures", 1.0),
        ("order_check_tried", {"order_id": "10001", "order_identity": "bob@example.com"}),
    ]
    assert texts(messages) == [NOT_VERIFIED_TEXT]


def test_wrong_email_and_unknown_order_get_identical_replies(form):
    replies = []
    for order_id in ("10001", "10999"):
        tracker = make_tracker({"order_id": order_id}, text="dave@example.com", requested_slot="order_identity")
        events, messages = run_action(form, tracker)
        # The tried pair kept for a correction is what the customer typed, whichever order exists.
        replies.append(([s for s in slot_sets(events) if s[0] != "order_check_tried"], texts(messages)))
    assert replies[0] == replies[1]
    assert "couldn't find" in replies[0][1][0]


def test_third_failure_stops_the_form_without_another_reply(form):
    tracker = make_tracker({"order_id": "10001", "verification_failures": 2.0}, text="bob@example.com",
                           requested_slot="order_identity")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [
        ("order_id", None), ("order_identity", None), ("verification_failures", 3.0), ("requested_slot", None),
        ("order_check_tried", None),
    ]
    assert messages == []


# After a failed check the customer often corrects one value only ("94110" was wrong for 10002, then
# "bob@example.com"): it is checked with the other value of the failed check.
@pytest.mark.parametrize(
    "tried, answer, expected",
    [
        ({"order_id": "10002", "order_identity": "94110"}, "bob@example.com", ("10002", "bob@example.com")),
        ({"order_id": "10003", "order_identity": "bob@example.com"}, "order 10002", ("10002", "bob@example.com")),
    ],
    ids=["email-corrected", "order-number-corrected"],
)
def test_one_corrected_value_is_checked_with_the_other_tried_before(form, tried, answer, expected):
    tracker = make_tracker({"order_check_tried": tried, "verification_failures": 1.0}, text=answer,
                           requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert sorted(slot_sets(events), key=str) == sorted(
        [("order_id", expected[0]), ("order_identity", expected[1]), ("order_check_tried", None)], key=str
    )
    assert messages == []


def test_a_correction_that_still_fails_says_which_order_it_tried(form):
    tracker = make_tracker({"order_check_tried": {"order_id": "10002", "order_identity": "94110"},
                            "verification_failures": 1.0}, text="alice@example.com", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [
        ("order_id", None), ("order_identity", None), ("verification_failures", 2.0),
        ("order_check_tried", {"order_id": "10002", "order_identity": "alice@example.com"}),
    ]
    assert texts(messages) == ["I still couldn't find order 10002 with that email address or ZIP code."]


def test_a_value_given_since_the_failure_is_not_paired_with_the_failed_one(form):
    # "10003" after the failure, then "bob@example.com": the new pair, not the failed check's order number.
    tracker = make_tracker({"order_check_tried": {"order_id": "10001", "order_identity": "bob@example.com"},
                            "order_id": "10002"}, text="bob@example.com", requested_slot="order_identity")
    events, _ = run_action(form, tracker)
    assert ("order_identity", "bob@example.com") in slot_sets(events)
    assert ("order_id", None) not in slot_sets(events)


# "10002" and "94110" failed, then "94107": a new ZIP code or a new order number, so the customer is asked which,
# and the answer (a button's payload) is checked with the other value of the failed check.
ZIP_TRIED = {"order_check_tried": {"order_id": "10002", "order_identity": "94110"}, "verification_failures": 1.0}


def test_a_bare_number_after_a_failed_check_with_a_zip_code_is_asked_about(form):
    tracker = make_tracker(ZIP_TRIED, text="94107", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None)]  # no check, no failure counted
    assert messages == []
    _, messages = run_action(ActionAskOrderId(), tracker)
    assert texts(messages) == [NUMBER_OR_ZIP_TEXT.format(number="94107")]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["order 94107", "zip 94107"]


@pytest.mark.parametrize(
    "payload, expected",
    # Bob's ZIP code 10001 is also Alice's order number: either reading verifies an order, so only the answer
    # tells which the customer meant.
    [("zip 10001", ("10002", "10001")), ("order 10001", ("10001", "94110"))],
    ids=["zip-code", "order-number"],
)
def test_the_answer_to_which_one_is_checked_with_the_other_value(form, payload, expected):
    tracker = make_tracker(ZIP_TRIED, text="10001", requested_slot="order_id")
    assert slot_sets(run_action(form, tracker)[0]) == [("order_id", None)]
    events, messages = run_action(form, make_tracker(ZIP_TRIED, text=payload, requested_slot="order_id"))
    assert sorted(slot_sets(events), key=str) == sorted(
        [("order_id", expected[0]), ("order_identity", expected[1]), ("order_check_tried", None)], key=str)
    assert messages == []


@pytest.mark.parametrize("typed, expected", [
    ("the zip code", ("10002", "10001")), ("it's my order number", ("10001", "94110")), ("zip", ("10002", "10001")),
])
def test_which_one_can_be_typed_instead_of_pressing_a_button(form, typed, expected):
    tracker = make_tracker(ZIP_TRIED, text=typed, requested_slot="order_id")
    tracker.events = [
        {"event": "user", "text": "10001"},
        {"event": "bot", "text": NUMBER_OR_ZIP_TEXT.format(number="10001")},
        {"event": "user", "text": typed},
    ]
    events, _ = run_action(form, tracker)
    assert sorted(slot_sets(events), key=str) == sorted(
        [("order_id", expected[0]), ("order_identity", expected[1]), ("order_check_tried", None)], key=str)
    # Not after another question, and not when the words say neither or both.
    for text in ("the zip code", "the order number, not the zip"):
        other = make_tracker(ZIP_TRIED, text=text, requested_slot="order_id")
        other.events = [tracker.events[0], {"event": "bot", "text": "What's your order number?"}, {"event": "user", "text": text}]
        assert ("order_check_tried", None) not in slot_sets(run_action(form, other)[0])


def test_a_bare_number_after_a_failed_check_with_an_email_is_the_order_number(form):
    tried = {"order_check_tried": {"order_id": "10003", "order_identity": "bob@example.com"}}
    tracker = make_tracker(tried, text="10002", requested_slot="order_id")
    events, _ = run_action(form, tracker)
    assert sorted(slot_sets(events), key=str) == sorted(
        [("order_id", "10002"), ("order_identity", "bob@example.com"), ("order_check_tried", None)], key=str)
    _, messages = run_action(ActionAskOrderId(), make_tracker(tried, text="10002", requested_slot="order_id"))
    assert texts(messages) == [CORRECTION_TEXT]


def test_after_a_failed_check_the_form_asks_for_a_correction():
    _, messages = run_action(ActionAskOrderId(), make_tracker(
        {"order_check_tried": {"order_id": "10002", "order_identity": "94110"}}, requested_slot="order_id"))
    assert texts(messages) == [CORRECTION_TEXT]
    _, messages = run_action(ActionAskOrderId(), make_tracker(requested_slot="order_id"))
    assert messages == [{**messages[0], "response": "utter_ask_order_id"}]


@pytest.mark.parametrize("text, intent, task, start", [
    ("how do i return an item?", "get_refund", "refund", "You can start a return yourself under Account > Orders"),
    ("how can i cancel my order", "cancel_order", "cancel", "You can cancel an order yourself under Account > Orders"),
    ("how do i track my order", "track_order", "status", "You can see the carrier and tracking number"),
    ("how do i check my refund", "track_refund", "refund_status", 'You can see it under Account > Orders'),
])
def test_a_how_to_request_hears_what_the_customer_can_do_before_the_order_number_is_asked(text, intent, task, start):
    # Seen in a chat: "how do i return an item?" got only "What's your order number?".
    tracker = make_tracker({"order_task": task}, text=text, intent=intent, requested_slot="order_id")
    _, messages = run_action(ActionAskOrderId(), tracker)
    assert messages[0]["text"].startswith(start) and messages[1]["response"] == "utter_ask_order_id"
    assert len(messages) == 2
    # A request that doesn't ask how: the question alone.
    tracker = make_tracker({"order_task": task}, text="i want my money back for the tent", intent=intent,
                           requested_slot="order_id")
    assert [m.get("response") for m in run_action(ActionAskOrderId(), tracker)[1]] == ["utter_ask_order_id"]


def test_a_swap_hears_it_is_a_return_and_a_new_order_before_the_number_is_asked():
    # Seen in a chat: "hey can i swap the lamp for a different color" got only "What's your order number?".
    tracker = make_tracker({"order_task": "refund"}, text="hey can i swap the lamp for a different color",
                           intent="get_refund", requested_slot="order_id")
    first, question = run_action(ActionAskOrderId(), tracker)[1]
    assert first["text"] == EXCHANGE_TEXT and question["response"] == "utter_ask_order_id"
    assert not first.get(REQUEST_DETAIL)  # the request itself, not a detail of it


def test_the_request_asked_again_as_how_while_its_number_is_asked_is_a_detail_of_it_not_a_failed_answer(form):
    # Seen in a chat: "ok how do i return it then" after the swap request got "I couldn't find an order number in
    # that", and the refund then lost the swap and the item named (read from the latest get_refund message).
    text = "ok how do i return it then"
    tracker = make_tracker({"order_task": "refund"}, text=text, intent="get_refund", requested_slot="order_id")
    tracker.events = [
        {"event": "user", "text": "can i swap the kettle for a different color", "parse_data": {"intent": {"name": "get_refund"}}},
        {"event": "bot", "text": EXCHANGE_TEXT},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "get_refund"}}},
    ]
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None)] and messages == []
    preface, question = run_action(ActionAskOrderId(), tracker)[1]
    assert preface["text"].startswith("You can start a return yourself") and preface[REQUEST_DETAIL] is True
    assert question["response"] == "utter_ask_order_id"
    # Not a how-question: the hint stays.
    tracker.latest_message = {**tracker.latest_message, "text": "i want to return it"}
    assert texts(run_action(form, tracker)[1])[0].startswith("I couldn't find an order number in that.")


def test_a_how_question_about_something_else_during_the_check_gets_the_question_alone():
    # "how do i find my order number" while the refund's check asks for it is not the refund's how-to.
    tracker = make_tracker({"order_task": "refund"}, text="how do i find my order number", intent="inform",
                           requested_slot="order_id")
    assert [m.get("response") for m in run_action(ActionAskOrderId(), tracker)[1]] == ["utter_ask_order_id"]


def test_locked_form_only_ends_itself(form):
    tracker = make_tracker({"verification_failures": 3.0}, text="order 10001 alice@example.com",
                           requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("requested_slot", None)]
    assert messages == []


def test_forty_digit_number_for_order_id_is_too_long(form):
    tracker = make_tracker(text="1234567890123456789012345678901234567890", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None)]
    [reply] = texts(messages)
    assert "too long" in reply and "5 digits" in reply


@pytest.mark.parametrize(
    "requested, hint",
    [("order_id", "I couldn't find an order number in that"),
     ("order_identity", "I need the email address or the 5-digit ZIP code")],
)
def test_sql_looking_text_gets_a_hint_and_writes_nothing(form, db_state, requested, hint):
    before = db_state()
    tracker = make_tracker(text="'; DROP TABLE orders; --", intent="nlu_fallback", requested_slot=requested)
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [(requested, None)]
    [reply] = texts(messages)
    assert reply.startswith(hint)
    after = db_state()
    assert after == before
    assert len(after[0]) == 300


def test_digression_is_left_to_the_rules(form):
    tracker = make_tracker({"order_id": "10001"}, text="which payment methods do you take?",
                           intent="check_payment_methods", requested_slot="order_identity")
    events, messages = run_action(form, tracker)
    assert events == []
    assert messages == []


def test_empty_message_gets_the_empty_message_text(form):
    tracker = make_tracker(text="", intent="nlu_fallback", requested_slot="order_id", message_problem=EMPTY)
    events, messages = run_action(form, tracker)
    assert texts(messages) == [PROBLEM_TEXT[EMPTY]]
    assert texts(messages) == ["I didn't receive any text. Could you type your question?"]
    assert slot_sets(events) == [("order_id", None)]


def test_naming_another_order_forgets_a_change_waiting_for_a_yes(form):
    # Seen in a chat: "refund 10003" ... "Shall I go ahead?" ... "wait, where is order 10001?" ... "yes"
    # filed the refund against 10001, the order in the slot by then.
    waiting = {"order_id": "10003", "order_identity": "alice@example.com", "pending_confirmation": "refund"}
    events, _ = run_action(form, make_tracker(waiting, text="wait, where is order 10001?", intent="track_order"))
    assert slot_sets(events) == [("order_id", "10001"), ("pending_confirmation", None)]
    # The same order named again keeps the question open.
    events, _ = run_action(form, make_tracker(waiting, text="is 10003 the one with the bottle?", intent="track_order"))
    assert ("pending_confirmation", None) not in slot_sets(events)


@pytest.mark.parametrize(
    "text, intent",
    [("i dont have the number", "inform"), ("where do i find my order number?", "track_order"), ("i can't find it", "out_of_scope")],
)
def test_no_order_number_gets_where_to_find_it_and_the_form_waits(form, text, intent):
    tracker = make_tracker(text=text, intent=intent, requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None)]  # answered: the form stays and asks again
    [message] = messages
    assert message["text"] == FIND_ORDER_NUMBER_TEXT
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/contact_human_agent"}]


def test_asking_where_to_find_the_number_keeps_the_task_asked_for(form):
    # Seen in a chat: "i want to return something" ... "where do i find it" (track_order, whose slot mapping made
    # the task a status check) ... "found it, 10003" ended with the order's status instead of the refund offer.
    tracker = make_tracker({"order_task": "status"}, text="where do i find it", intent="track_order", requested_slot="order_id")
    tracker.events = [
        {"event": "user", "text": "i want to return something"},
        {"event": "slot", "name": "order_task", "value": "refund"},
        {"event": "user", "text": "where do i find it"},
        {"event": "slot", "name": "order_task", "value": "status"},
    ]
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None), ("order_task", "refund")]
    assert texts(messages) == [FIND_ORDER_NUMBER_TEXT]
    # A status check asked for in the first place stays one.
    tracker.events[1]["value"] = "status"
    assert slot_sets(run_action(form, tracker)[0]) == [("order_id", None)]



@pytest.mark.parametrize("text, task", [("found it, 10003", "refund"), ("10003, where is it?", "status")])
def test_an_answer_read_as_another_request_keeps_the_task_unless_it_asks_for_it(form, text, task):
    # Seen in a chat: "found it, 10003" (track_order) after "i want to return something" ended with the status.
    tracker = make_tracker({"order_task": "status"}, text=text, intent="track_order", requested_slot="order_id")
    tracker.events = [
        {"event": "user", "text": "i want to return something"},
        {"event": "slot", "name": "order_task", "value": "refund"},
        {"event": "user", "text": text},
        {"event": "slot", "name": "order_task", "value": "status"},
    ]
    events, _ = run_action(form, tracker)
    assert ("order_id", "10003") in slot_sets(events)
    assert dict(slot_sets(events)).get("order_task", "status") == task



def test_a_new_request_starting_the_form_sets_its_own_task(form):
    # "get rid of order 10002" (cancel_order, no word of the task) after an earlier return was done: the form
    # starts with nothing asked yet, and the return is not brought back.
    tracker = make_tracker({"order_task": "cancel"}, text="get rid of order 10002", intent="cancel_order")
    tracker.events = [
        {"event": "user", "text": "i want to return something"},
        {"event": "slot", "name": "order_task", "value": "refund"},
        {"event": "user", "text": "get rid of order 10002"},
        {"event": "slot", "name": "order_task", "value": "cancel"},
    ]
    assert "order_task" not in dict(slot_sets(run_action(form, tracker)[0]))


def test_an_email_given_without_the_order_number_is_kept(form):
    tracker = make_tracker(text="no idea, but my email is alice@example.com", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_identity", "alice@example.com"), ("order_id", None)]
    assert texts(messages) == [FIND_ORDER_NUMBER_TEXT]


@pytest.mark.parametrize("text, kind", [("it's bob@example.com", "email address"), ("my zip is 10001", "ZIP code")])
def test_an_email_or_zip_given_for_the_order_number_is_kept_and_acknowledged(form, text, kind):
    # Seen in a chat: "it's bob@example.com" to "What's your order number?" got the same question again, as if unread.
    events, messages = run_action(form, make_tracker(text=text, requested_slot="order_id"))
    assert [name for name, _ in slot_sets(events)] == ["order_identity"]
    assert texts(messages) == [f"Thanks, I'll check the order with that {kind}."]


@pytest.mark.parametrize("text, kind", [
    ("can you look it up by my email? alice@example.com", "email address"),
    ("just find it with my zip, 94110", "ZIP code"),
])
def test_asking_for_a_lookup_by_email_or_zip_says_why_the_number_is_needed(form, text, kind):
    # Seen in a chat: "can you look it up by my email? alice@example.com" got "Thanks, I'll check the order with
    # that email address." and the question again, as if the lookup would happen.
    events, messages = run_action(form, make_tracker(text=text, requested_slot="order_id"))
    assert [name for name, _ in slot_sets(events)] == ["order_identity"]
    [reply] = messages
    assert reply["text"].startswith(f"I can't look orders up by {kind} alone: anyone could type one")
    assert f"I've kept the {kind}." in reply["text"] and reply["buttons"][0]["payload"] == "/contact_human_agent"


def test_asking_for_a_lookup_without_giving_the_email_says_why_too(form):
    events, messages = run_action(form, make_tracker(text="can you look it up by my email?", requested_slot="order_id"))
    assert texts(messages) == ["I can't look orders up by email address alone: anyone could type one, so I check the "
                               "order number and the email address together. If you can't find the order number, a "
                               "support agent can look your order up another way."]
    assert ("order_identity", "can you look it up by my email?") not in slot_sets(events)


def test_an_unsure_question_with_no_topic_is_left_to_the_rules(form):
    # "how does that work?" read as nlu_fallback while the form asked for the order number got "I couldn't find
    # an order number in that"; it is a question for the help center (a digression rule answers it).
    events, messages = run_action(form, make_tracker(text="how does that work?", intent="nlu_fallback", requested_slot="order_id"))
    assert events == [] and messages == []
    # An unsure answer that isn't such a question still gets the hint.
    _, messages = run_action(form, make_tracker(text="it's the one from tuesday", intent="nlu_fallback", requested_slot="order_id"))
    assert "order number" in texts(messages)[0]


def test_not_having_the_email_is_not_about_the_order_number(form):
    tracker = make_tracker({"order_id": "10003"}, text="i don't know which email i used", requested_slot="order_identity")
    _, messages = run_action(form, tracker)
    assert FIND_ORDER_NUMBER_TEXT not in texts(messages)


def _stopped_after(requested_slot, text):
    tracker = make_tracker(text=text, intent="deny")
    tracker.events = [
        {"event": "slot", "name": "requested_slot", "value": requested_slot},
        {"event": "user", "text": text},
        {"event": "slot", "name": "requested_slot", "value": None},
    ]
    return tracker


def test_a_no_to_the_order_number_question_that_says_they_lack_it_gets_help():
    _, messages = run_action(ActionStopOrderForm(), _stopped_after("order_id", "I forgot it"))
    assert texts(messages) == [FIND_ORDER_NUMBER_TEXT + " When you have it, just send it to me."]


@pytest.mark.parametrize("requested, text", [("order_id", "no, forget it"), ("order_identity", "I forgot it")])
def test_other_stops_just_stop(requested, text):
    _, messages = run_action(ActionStopOrderForm(), _stopped_after(requested, text))
    assert texts(messages) == [STOPPED_TEXT]


def _asked_what_to_do(messages):
    [message] = messages
    assert message["response"] == "utter_what_to_do_with_order"
    return message["order"]


def test_an_order_number_on_its_own_is_kept_and_named_in_the_question():
    events, messages = run_action(ActionAskOrderTask(), make_tracker(text="10001"))
    assert slot_sets(events) == [("order_id", "10001")]
    assert _asked_what_to_do(messages) == "order 10001"


def test_an_email_after_the_order_number_is_kept_for_the_check():
    # Seen in a chat: the email got "What would you like to do with that order?" again and was forgotten,
    # so "where is it" then asked for the order number a second time.
    events, messages = run_action(ActionAskOrderTask(), make_tracker({"order_id": "10001"}, text="alice@example.com"))
    assert slot_sets(events) == [("order_identity", "alice@example.com")]
    assert _asked_what_to_do(messages) == "order 10001" and messages[0]["thanks"] == "Thanks. "
    # The order number itself gets the question without thanks.
    _, messages = run_action(ActionAskOrderTask(), make_tracker(text="10001"))
    assert messages[0]["thanks"] == ""


def test_another_order_number_drops_the_previous_orders_email_and_waiting_change():
    slots = {"order_id": "10003", "order_identity": "alice@example.com", "pending_confirmation": "refund"}
    events, _ = run_action(ActionAskOrderTask(), make_tracker(slots, text="actually it's 10002"))
    assert slot_sets(events) == [("order_id", "10002"), ("order_identity", None), ("pending_confirmation", None)]
    # The same order number again keeps what was known about it.
    events, _ = run_action(ActionAskOrderTask(), make_tracker(slots, text="10003"))
    assert slot_sets(events) == [("order_id", "10003")]


def test_five_digits_after_the_order_number_are_its_zip_code():
    # Seen in a chat: "10001" ... "94110" got "What would you like to do with order 94110?".
    events, messages = run_action(ActionAskOrderTask(), make_tracker({"order_id": "10001"}, text="94110"))
    assert slot_sets(events) == [("order_identity", "94110")]
    assert _asked_what_to_do(messages) == "order 10001"
    # Named as an order, it is another order; with the pair known, five digits are another order too.
    events, _ = run_action(ActionAskOrderTask(), make_tracker({"order_id": "10001"}, text="order 10003"))
    assert slot_sets(events) == [("order_id", "10003")]
    known = {"order_id": "10001", "order_identity": "94110"}
    events, _ = run_action(ActionAskOrderTask(), make_tracker(known, text="10002"))
    assert slot_sets(events) == [("order_id", "10002"), ("order_identity", None)]


def test_another_order_number_keeps_the_email_checked_when_it_fits_that_order_too():
    # Seen in a chat: "and 10003?" after alice@example.com was checked for 10001, then "where is it?", asked for
    # the email again although 10003 is Alice's too ("where is 10003?" in one message never did).
    for identity in ("alice@example.com", "94110"):
        known = {"order_id": "10001", "order_identity": identity, "pending_confirmation": "cancel_order"}
        events, messages = run_action(ActionAskOrderTask(), make_tracker(known, text="and 10003?"))
        assert slot_sets(events) == [("order_id", "10003"), ("order_identity", identity), ("pending_confirmation", None)]
        assert _asked_what_to_do(messages) == "order 10003"
    # Bob's order: not kept, and asked for in the same words as for any order.
    known = {"order_id": "10001", "order_identity": "alice@example.com"}
    events, messages = run_action(ActionAskOrderTask(), make_tracker(known, text="10002"))
    assert slot_sets(events) == [("order_id", "10002"), ("order_identity", None)]
    assert _asked_what_to_do(messages) == "order 10002"


def test_another_order_number_after_the_item_was_not_in_the_order_goes_on_with_the_refund():
    # Seen in a chat: "oh sorry it was order 10001" after "I don't see that item in order 10003 ... tell me that
    # order's number" got "What would you like to do with order 10001?".
    known = {"order_id": "10003", "order_identity": "alice@example.com", "order_task": "refund"}
    tracker = make_tracker(known, text="oh sorry it was order 10001")
    tracker.events = [
        {"event": "user", "text": "I want to return the headphones I bought"},
        {"event": "bot", "text": "I don't see that item in order 10003: ...", "metadata": {"awaits_order_number": "refund"}},
        {"event": "user", "text": "oh sorry it was order 10001"},
    ]
    events, messages = run_action(ActionAskOrderTask(), tracker)
    assert messages == []
    # Alice's email fits order 10001 too: kept, so the form checks the pair without asking.
    assert slot_sets(events[:-1]) == [("order_id", "10001"), ("order_identity", "alice@example.com"),
                                      ("order_task", "refund")]
    assert (events[-1]["event"], events[-1]["name"]) == ("followup", "order_form")
    # Without that question before it, the number is kept and the task asked for.
    tracker.events[1] = {"event": "bot", "text": "Order 10003 was delivered ..."}
    events, messages = run_action(ActionAskOrderTask(), tracker)
    assert _asked_what_to_do(messages) == "order 10001"
    assert slot_sets(events) == [("order_id", "10001"), ("order_identity", "alice@example.com")]


def test_a_new_delivery_address_is_not_read_as_an_order_and_says_where_to_change_it():
    # Seen in a chat: "123 New Street, Springfield, IL 62704" after "10002" and the email got "What would you like
    # to do with order 62704?".
    known = {"order_id": "10002", "order_identity": "bob@example.com"}
    events, messages = run_action(ActionAskOrderTask(), make_tracker(known, text="123 New Street, Springfield, IL 62704"))
    assert slot_sets(events) == []
    assert [m["response"] for m in messages] == ["utter_address_not_changed_here"]
    [reply] = DOMAIN["responses"]["utter_address_not_changed_here"]
    assert "Change address" in reply["text"] and reply["buttons"][0]["payload"] == "/contact_human_agent"


def test_an_email_after_a_message_naming_the_order_is_kept_with_that_order():
    # Seen in a chat: "my order 10004 espresso machine arrived with a cracked tank" ... "carol@example.com" got
    # "What would you like to do with your order?".
    tracker = make_tracker(text="carol@example.com")
    tracker.events = [
        {"event": "user", "text": "my order 10004 espresso machine arrived with a cracked tank"},
        {"event": "bot", "text": "I'm sorry it arrived like that..."},
        {"event": "user", "text": "carol@example.com"},
    ]
    events, messages = run_action(ActionAskOrderTask(), tracker)
    assert slot_sets(events) == [("order_id", "10004"), ("order_identity", "carol@example.com")]
    assert _asked_what_to_do(messages) == "order 10004" and messages[0]["thanks"] == "Thanks. "


def test_an_email_alone_asks_about_their_order():
    events, messages = run_action(ActionAskOrderTask(), make_tracker(text="carol@example.com"))
    assert slot_sets(events) == [("order_identity", "carol@example.com")]
    assert _asked_what_to_do(messages) == "your order"


@pytest.mark.parametrize("named", ["10002", "10999"], ids=["someone-elses", "unknown"])
def test_another_order_the_kept_email_does_not_fit_is_asked_about_not_failed(form, named):
    # Seen in a chat: "ok and for order 10002?" after Alice's 10001 was checked counted as a failed check
    # ("I couldn't find an order...") and dropped 10002; the customer had never claimed it was Alice's.
    tracker = make_tracker(verified(10001, verification_failures=1.0), text=f"ok and for order {named}?",
                           intent="track_order")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", named), ("order_identity", None)]
    assert messages == []  # the form asks for its email or ZIP code, the same question for both


def test_an_email_given_for_this_check_that_does_not_fit_still_fails(form):
    # The email came first ("no idea, but my email is bob@example.com"), then the number: a real check.
    tracker = make_tracker({"order_identity": "bob@example.com"}, text="10001", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [
        ("order_id", None), ("order_identity", None), ("verification_failures", 1.0),
        ("order_check_tried", {"order_id": "10001", "order_identity": "bob@example.com"}),
    ]
    assert texts(messages) == [NOT_VERIFIED_TEXT]


def _after_bot_reply(slots, text, buttons):
    tracker = make_tracker(slots, text=text)
    tracker.events = [
        {"event": "user", "text": "hi i was charged twice for my order"},
        {"event": "bot", "text": "... Would you like me to connect you with an agent?", "data": {"buttons": buttons}},
        {"event": "user", "text": text},
    ]
    return tracker


def test_an_order_number_after_the_offer_to_connect_is_for_the_agent():
    # Seen in a chat: "10001" after the double-charge reply ("Would you like me to connect you with an agent?")
    # got "What would you like to do with order 10001?" and the task buttons.
    events, messages = run_action(ActionAskOrderTask(), _after_bot_reply({}, "10001", CONNECT_BUTTONS))
    [message] = messages
    assert message["text"] == "Thanks, the agent will see order 10001 in the summary I pass on. Shall I connect you now?"
    assert message["buttons"] == CONNECT_BUTTONS
    assert slot_sets(events) == [("order_id", "10001")]
    # The email that follows is kept the same way.
    events, messages = run_action(ActionAskOrderTask(), _after_bot_reply({"order_id": "10001"}, "alice@example.com", CONNECT_BUTTONS))
    assert messages[0]["text"].startswith("Thanks, the agent will see order 10001 and your email address in the summary")
    assert slot_sets(events) == [("order_identity", "alice@example.com")]
    # After an answer that only offers a person in passing, the number starts a request of its own.
    _, messages = run_action(ActionAskOrderTask(), _after_bot_reply({}, "10001", OFFER_HUMAN_BUTTONS))
    assert _asked_what_to_do(messages) == "order 10001"


def test_a_bare_number_after_the_offer_to_connect_and_an_order_named_earlier_is_its_zip_code():
    # Seen in a chat: "94110" after "i need an invoice for order 10003" and the offer of an agent got "the agent
    # will see order 94110".
    tracker = _after_bot_reply({}, "94110", CONNECT_BUTTONS)
    tracker.events[0]["text"] = "i need an invoice for order 10003"
    events, messages = run_action(ActionAskOrderTask(), tracker)
    assert messages[0]["text"].startswith("Thanks, the agent will see order 10003 and your ZIP code in the summary")
    assert slot_sets(events) == [("order_id", "10003"), ("order_identity", "94110")]
    # Named as an order, it is one.
    tracker = _after_bot_reply({}, "order 10001", CONNECT_BUTTONS)
    tracker.events[0]["text"] = "i need an invoice for order 10003"
    assert run_action(ActionAskOrderTask(), tracker)[1][0]["text"].startswith("Thanks, the agent will see order 10001 in")


def test_thanks_while_the_form_waits_is_not_told_it_holds_no_order_number(form):
    # Seen in a chat: "ok thanks" after a damage answer given while the check waited got "I couldn't find an order
    # number in that."
    from actions.verification import THANKS_WHILE_ASKING_TEXT

    events, messages = run_action(form, make_tracker(text="ok thanks", intent="thank_you", requested_slot="order_id"))
    assert texts(messages) == [THANKS_WHILE_ASKING_TEXT] and slot_sets(events) == [("order_id", None)]
    # Thanks with digits in it is an answer attempt: the usual hint.
    _, messages = run_action(form, make_tracker(text="thanks, 123", intent="thank_you", requested_slot="order_id"))
    assert "doesn't look like an order number" in texts(messages)[0]


@pytest.mark.parametrize("requested, text, intent, product", [
    ("order_id", "it was the water bottle", "complaint", "Insulated Water Bottle, 1 L"),
    ("order_id", "the tv", "out_of_scope", 'Brightview 65" 4K QLED TV'),
    ("order_identity", "just the carabiners", "inform", "Carabiner Set (3-pack)"),
])
def test_the_item_named_while_the_check_waits_is_taken_as_a_detail_of_the_request(form, requested, text, intent, product):
    # Seen in a chat: "it was the water bottle" after "i want to return something" left the form (the complaint's
    # apology) and the refund offer later covered the whole order.
    slots = {"order_task": "refund", **({"order_id": "10003"} if requested == "order_identity" else {})}
    events, messages = run_action(form, make_tracker(slots, text=text, intent=intent, requested_slot=requested))
    assert slot_sets(events) == [(requested, None)]  # the form goes on and asks its question again
    [message] = messages
    assert message["text"] == f"Got it: the {product}." and message[REQUEST_DETAIL] is True


@pytest.mark.parametrize("text", [
    "is the water bottle dishwasher safe?",  # a question: the help center's
    "the water bottle arrived dented",  # a damage report: the complaint's answer
    "the kettle hasn't arrived yet",  # another task than the return waiting
    "it was a gift",  # no product named
    "it was the water bottle and honestly i am so disappointed with the quality of everything you sell",
])
def test_other_messages_naming_no_single_item_leave_the_form_to_the_rules(form, text):
    tracker = make_tracker({"order_task": "refund"}, text=text, intent="complaint", requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert events == [] and messages == []


@pytest.mark.parametrize("intent", ["affirm", "out_of_scope"])
def test_why_to_the_forms_question_says_why_the_check_needs_it(form, intent):
    # Seen in a chat: "why?" to "What's your order number?" (read as affirm, 0.73) got "I couldn't find an order
    # number in that".
    tracker = make_tracker({"order_task": "status"}, text="why?", intent=intent, requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", None)]
    assert texts(messages) == ["First I need to check that the order is yours, so I need its order number. Then I'll "
                               "tell you where the order is and when it should arrive."]


@pytest.mark.parametrize("text", ["10003 94110", "10003, 94110", "#10003 and 94110"])
def test_an_order_number_and_zip_code_in_one_answer_are_checked_together(form, text):
    # Seen in a chat: "10003 94110" to "What's your order number?" kept 10003 and asked for the ZIP code again.
    tracker = make_tracker({"order_task": "refund_status"}, text=text, requested_slot="order_id")
    events, messages = run_action(form, tracker)
    assert slot_sets(events) == [("order_id", "10003"), ("order_identity", "94110")] and messages == []


def test_two_order_numbers_in_a_request_are_not_read_as_a_zip_code(form):
    events, _ = run_action(form, make_tracker(text="track 10001 and 10003", intent="track_order"))
    assert slot_sets(events) == [("order_id", "10001")]


def test_a_no_to_the_offer_of_an_agent_made_while_the_check_waits_keeps_the_check(form):
    # Seen in a chat: "no thanks" to the damaged-item reply's offer of an agent, made while a return's check waited,
    # stopped the check.
    from actions.fallback import CONNECT_BUTTONS
    from actions.verification import NO_AGENT_TEXT

    def after_offer(text):
        tracker = make_tracker({"order_task": "refund"}, text=text, intent="deny", requested_slot="order_id")
        tracker.events = [
            {"event": "user", "text": "the water bottle arrived dented"},
            {"event": "bot", "text": "... Would you like me to connect you with a support agent?", "data": {"buttons": CONNECT_BUTTONS}},
            {"event": "user", "text": text},
        ]
        return run_action(form, tracker)

    events, messages = after_offer("no thanks")
    assert slot_sets(events) == [("order_id", None)] and texts(messages) == [NO_AGENT_TEXT]
    # Told to stop, or a no without the offer before it: the rule stops the check, as before.
    assert after_offer("no, forget it") == ([], [])
    tracker = make_tracker({"order_task": "refund"}, text="no thanks", intent="deny", requested_slot="order_id")
    assert run_action(form, tracker) == ([], [])


def test_an_order_named_earlier_is_suggested_and_a_yes_to_it_is_its_number(form):
    # Seen in a chat: "can i still cancel it?" after an agent handed back a conversation about order 10002 (named,
    # never checked) got "What's your order number?" as if it had never been named.
    from actions.verification import ORDER_NAMED_EARLIER_TEXT, SUGGESTED_ORDER

    earlier = [{"event": "user", "text": "this is the third time i'm asking, where is my damn order 10002",
                "parse_data": {"intent": {"name": "track_order"}}},
               {"event": "bot", "text": "I'm connecting you with a member of our support team."},
               {"event": "user", "text": "can i still cancel it?", "parse_data": {"intent": {"name": "cancel_order"}}}]
    tracker = make_tracker({"order_task": "cancel"}, text="can i still cancel it?", intent="cancel_order",
                           requested_slot="order_id")
    tracker.events = list(earlier)
    [asked] = run_action(ActionAskOrderId(), tracker)[1]
    assert asked["text"] == ORDER_NAMED_EARLIER_TEXT.format(order_id="10002")
    assert asked["buttons"] == [{"title": "Yes, order 10002", "payload": "order 10002"}]
    # A typed yes is that order's number; another number is that one.
    for text, intent, order_id in (("yes", "affirm", "10002"), ("no, it's 10003", "inform", "10003")):
        answer = make_tracker({"order_task": "cancel"}, text=text, intent=intent, requested_slot="order_id")
        answer.events = earlier + [{"event": "bot", "text": asked["text"], "metadata": {SUGGESTED_ORDER: "10002"}},
                                   {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}]
        events, _ = run_action(form, answer)
        assert ("order_id", order_id) in slot_sets(events), text
    # Nothing named before: the usual question.
    tracker.events = earlier[-1:]
    assert [m.get("response") for m in run_action(ActionAskOrderId(), tracker)[1]] == ["utter_ask_order_id"]


@pytest.mark.parametrize("text, gift", [
    # Seen in a chat: asked for the order number, which the sender has.
    ("i got a gift from brightbay and want to return it", True),
    ("my aunt gave me a kettle as a gift, can i return it", True),
    ("i bought it as a gift for my son, can i return it", False),  # the buyer has the order
])
def test_a_gift_received_hears_how_to_return_it_without_the_order_before_the_number_is_asked(text, gift):
    from pathlib import Path

    from actions.verification import GIFT_RETURN_TEXT

    tracker = make_tracker({"order_task": "refund"}, text=text, intent="get_refund", requested_slot="order_id")
    messages = run_action(ActionAskOrderId(), tracker)[1]
    assert [m.get("text") for m in messages[:-1]] == ([GIFT_RETURN_TEXT] if gift else [])
    assert messages[-1]["response"] == "utter_ask_order_id"
    # What it says is the help center's.
    returns = (Path(__file__).resolve().parents[2] / "data" / "kb" / "returns.md").read_text()
    assert "Start the return from the gift receipt link in the gift message email" in returns
    assert "A gift return is refunded as a Brightbay gift card in your name, so the sender isn't told." in returns


def test_no_order_number_for_a_gift_received_hears_it_isnt_needed_and_is_not_asked_it_as_before(form):
    # Seen in a chat: "i don't have the order number" after "i got a gift from brightbay and want to return it" got
    # where to find one's own order confirmation, then "What's your order number?" again.
    from actions.verification import GIFT_NO_NUMBER_TEXT, GIFT_NUMBER_LATER_TEXT

    request = "i got a gift from brightbay and want to return it"
    tracker = make_tracker({"order_task": "refund"}, text="i don't have the order number", intent="inform",
                           requested_slot="order_id")
    tracker.events = [
        {"event": "user", "text": request, "parse_data": {"intent": {"name": "get_refund"}}},
        {"event": "user", "text": "i don't have the order number", "parse_data": {"intent": {"name": "inform"}}},
    ]
    events, messages = run_action(form, tracker)
    assert texts(messages) == [GIFT_NO_NUMBER_TEXT] and slot_sets(events) == [("order_id", None)]
    assert [m["text"] for m in run_action(ActionAskOrderId(), tracker)[1]] == [GIFT_NUMBER_LATER_TEXT]
    # The same words after a return of one's own order: where to find it, and the question as before.
    tracker.events[0]["text"] = "i want to return my kettle"
    assert texts(run_action(form, tracker)[1]) == [FIND_ORDER_NUMBER_TEXT]
    assert [m.get("response") for m in run_action(ActionAskOrderId(), tracker)[1]] == ["utter_ask_order_id"]
