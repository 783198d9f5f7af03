"""TEDPolicy with its predictions remembered per dialogue state.

TED's prediction is a function of the featurised dialogue states of the last
`max_history` turns (intents, entity names, slots, active loop, previous actions),
and support conversations walk the same few paths all day: greeting, order lookup,
a policy question, goodbye. Running the transformer for a state sequence it has
already scored repeats the same computation; under 20 concurrent conversations TED's
inference was a quarter of a Rasa process's CPU (py-spy). This policy keys an LRU
cache on those states and runs the model only for sequences it has not seen.

The cache is exact, not approximate: it is used only when the prediction cannot depend
on anything but the states (no user text features, i.e. no end-to-end stories); the
key holds every state value TED's featuriser reads.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT

CACHE_SIZE_KEY = "prediction_cache_size"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class StateCachedTEDPolicy(TEDPolicy):
    """TEDPolicy that scores each distinct sequence of dialogue states once per process."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **TEDPolicy.get_default_config(),
            # Distinct state sequences remembered per process (least recently used ones go first);
            # 0 turns the cache off. An entry is one confidence per action: a few KB.
            CACHE_SIZE_KEY: 10_000,
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "StateCachedTEDPolicy":
        size = config.get(CACHE_SIZE_KEY)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidConfigException(
                f"StateCachedTEDPolicy: '{CACHE_SIZE_KEY}' must be a whole number >= 0, got {size!r}."
            )
        return super().create(config, model_storage, resource, execution_context, **kwargs)

    def __init__(self, config: Dict[Text, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._cache: "OrderedDict[str, Tuple[List[float], bool, Any]]" = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def _state_only(self) -> bool:
        """True when TED reads nothing but the states: no end-to-end text features."""
        return not self.only_e2e and TEXT not in self.fake_features

    def _state_key(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: Optional[Dict[Text, Any]]
    ) -> str:
        states = self._prediction_states(tracker, domain, rule_only_data=rule_only_data)
        # States are dicts of tuples of strings and numbers: a canonical JSON text is an exact key.
        return json.dumps(states, sort_keys=True, default=list)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        precomputations: Optional[MessageContainerForCoreFeaturization] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        size = self.config.get(CACHE_SIZE_KEY, 0)
        if self.model is None or not size or not self._state_only:
            return super().predict_action_probabilities(tracker, domain, rule_only_data, precomputations, **kwargs)
        key = self._state_key(tracker, domain, rule_only_data)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            probabilities, is_end_to_end, diagnostic_data = cached
            return self._prediction(
                list(probabilities), is_end_to_end_prediction=is_end_to_end, diagnostic_data=diagnostic_data
            )
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, precomputations, **kwargs)
        with self._cache_lock:
            self._cache[key] = (
                list(prediction.probabilities), prediction.is_end_to_end_prediction, prediction.diagnostic_data
            )
            while len(self._cache) > size:
                self._cache.popitem(last=False)
        return prediction
