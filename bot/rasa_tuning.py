"""Per-turn costs of Rasa 3.6 that this project removes in its Rasa servers.

Installed by the REST channel module (`bot/channels/rest.py`), which every server of the
project loads from credentials.yml. Each change keeps Rasa's behaviour and only removes work.

- Action responses: `RemoteAction._validate_action_result` calls `jsonschema.validate`,
  which first checks Rasa's large events schema against the JSON-Schema meta-schema and
  builds a new validator, on every custom-action call: 15.9 ms of CPU per call against
  0.65 ms with one validator built once (measured; a quarter of a Rasa process's CPU under
  20 concurrent conversations, found with py-spy). Same schema, same ValidationError.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of on every action call
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    from jsonschema.exceptions import best_match

    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Idempotent: replaces the validation of custom-action responses with a cached validator."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
