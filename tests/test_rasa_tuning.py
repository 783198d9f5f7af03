"""The cached validation of custom-action responses accepts and rejects what Rasa's own does."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_tuning

GOOD = {
    "events": [{"event": "slot", "timestamp": None, "name": "order_id", "value": "10001"}],
    "responses": [{"text": "Order 10001 has shipped."}],
}
BAD = [
    {"events": [{"event": "slot", "name": 5}], "responses": []},  # a slot name must be a string
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


@pytest.fixture
def action() -> RemoteAction:
    rasa_tuning.install()
    return RemoteAction("action_check_order_status", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_response_passes(action: RemoteAction) -> None:
    assert action._validate_action_result(GOOD) is True


@pytest.mark.parametrize("response", BAD)
def test_an_invalid_response_is_rejected_as_rasa_rejects_it(action: RemoteAction, response: dict) -> None:
    with pytest.raises(jsonschema.ValidationError) as rejected:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())  # Rasa's own check
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(response)
    assert ours.value.message.startswith(rejected.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_the_validator_is_built_once(action: RemoteAction) -> None:
    action._validate_action_result(GOOD)
    action._validate_action_result(GOOD)
    assert rasa_tuning._action_response_validator.cache_info().misses <= 1
