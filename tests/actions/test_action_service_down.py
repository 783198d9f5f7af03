"""An unreachable database: the customer gets the outage text, never a traceback."""
import pytest

from action_helpers import make_tracker, run_action, slot_sets, texts, verified
from actions.cancellation import ActionCancelOrder, ActionConfirmCancelOrder
from actions.order_status import ActionOrderStatus
from actions.refunds import ActionConfirmRefund, ActionRefundStatus, ActionRequestRefund
from actions.verification import SERVICE_DOWN_TEXT, ValidateOrderForm

ORDER_ACTIONS = [
    ActionOrderStatus, ActionCancelOrder, ActionConfirmCancelOrder,
    ActionRequestRefund, ActionConfirmRefund, ActionRefundStatus,
]


@pytest.mark.parametrize("action_class", ORDER_ACTIONS, ids=lambda c: c.__name__)
def test_order_action_reports_outage(broken_service, action_class):
    events, messages = run_action(action_class(broken_service), make_tracker(verified(10002)))
    assert texts(messages) == [SERVICE_DOWN_TEXT]
    assert "can't reach our order system" in messages[0]["text"]
    assert events == []


def test_form_check_during_outage_does_not_raise_or_count_a_failure(broken_service):
    tracker = make_tracker({"order_id": "10001"}, text="alice@example.com", requested_slot="order_identity")
    events, messages = run_action(ValidateOrderForm(service=broken_service), tracker)
    # Not a failed check: the values are kept and the order action (which verifies again)
    # tells the customer the order system can't be reached.
    assert slot_sets(events) == [("order_identity", "alice@example.com")]
    assert messages == []


def test_outage_during_form_reaches_the_customer_once(broken_service):
    """The form, then the order action the rule runs next, with the form's slots."""
    slots = {"order_id": "10001"}
    events, form_messages = run_action(ValidateOrderForm(service=broken_service),
                                       make_tracker(slots, text="alice@example.com", requested_slot="order_identity"))
    slots.update(slot_sets(events))
    _, action_messages = run_action(ActionOrderStatus(broken_service), make_tracker(slots))
    assert texts(form_messages + action_messages) == [SERVICE_DOWN_TEXT]
