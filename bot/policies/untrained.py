"""The shared base of policies that learn nothing from stories and decide from the tracker alone."""
from __future__ import annotations

import abc
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException


class UntrainedPolicy(Policy, abc.ABC):
    """A policy with nothing to learn: training keeps its resource as is; ``priority`` is checked at creation."""

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.check_config(config)

    @classmethod
    def check_config(cls, config: Dict[Text, Any]) -> None:
        """Raises InvalidConfigException naming the bad value; subclasses add their keys."""
        priority = config.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
            raise InvalidConfigException(f"{cls.__name__}: 'priority' must be a positive integer, got {priority!r}")

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # nothing to learn

    def _metadata(self) -> Dict[Text, Any]:
        return {"priority": self.priority}


def bot_turn_before_latest_message(tracker: DialogueStateTracker) -> List[Event]:
    """The events between the customer's previous message and their latest one (the bot's last turn), in order."""
    turn: List[Event] = []
    seen_user = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_user:
                break
            seen_user = True
        elif seen_user:
            turn.append(event)
    return turn[::-1]


class OneActionPolicy(UntrainedPolicy, abc.ABC):
    """Predicts one action when ``applies`` says so, and listening after it (its reply is the whole turn;
    no rule knows that path)."""

    @property
    @abc.abstractmethod
    def action_name(self) -> Text:
        """The action this policy predicts."""

    @classmethod
    def check_names(cls, config: Dict[Text, Any], key: Text, allow_empty: bool = False) -> None:
        """Raises InvalidConfigException unless ``config[key]`` is a list of names (non-empty unless
        ``allow_empty``)."""
        names = config.get(key)
        if not isinstance(names, list) or not (names or allow_empty) or not all(isinstance(n, str) and n for n in names):
            raise InvalidConfigException(f"{cls.__name__}: '{key}' must be a list of names, got {names!r}")

    def message_to_answer(self, tracker: DialogueStateTracker) -> Optional[UserUttered]:
        """The customer's latest message when it waits for a reply (no pause, no form) and its intent is one
        of the configured ``intents``; else None."""
        if tracker.is_paused() or tracker.active_loop_name or tracker.latest_action_name != ACTION_LISTEN_NAME:
            return None
        message = tracker.latest_message
        if message is None or message.intent.get("name") not in self.config["intents"]:
            return None
        return message

    @abc.abstractmethod
    def applies(self, tracker: DialogueStateTracker) -> bool:
        """Whether the action should answer the latest user message."""

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if self.action_name not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        if tracker.latest_action_name == self.action_name and self._predicted_last_action(tracker):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities, is_no_user_prediction=True)
        if self.applies(tracker):
            probabilities[domain.index_for_action(self.action_name)] = 1.0
        return self._prediction(probabilities)

    def _predicted_last_action(self, tracker: DialogueStateTracker) -> bool:
        for event in reversed(tracker.events):
            if isinstance(event, ActionExecuted):
                return (event.policy or "").endswith(type(self).__name__)
        return False
