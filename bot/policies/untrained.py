"""The shared base of policies that learn nothing from stories and decide from the tracker alone."""
from __future__ import annotations

import abc
from typing import Any, Dict, List, Text

from rasa.core.policies.policy import Policy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
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
