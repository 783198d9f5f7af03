"""StateCachedTEDPolicy: same predictions as TED, the model run once per distinct state sequence."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.exceptions import InvalidConfigException

from bot.policies.cached_ted_policy import CACHE_SIZE_KEY, StateCachedTEDPolicy

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, ask_shipping, goodbye]
responses:
  utter_greet: [{text: "Hi!"}]
  utter_shipping: [{text: "3-5 business days."}]
  utter_goodbye: [{text: "Bye!"}]
""")
STORIES = """
version: "3.1"
stories:
- story: shipping
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_shipping
  - action: utter_shipping
  - intent: goodbye
  - action: utter_goodbye
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> StateCachedTEDPolicy:
    steps = YAMLStoryReader(DOMAIN).read_from_string(STORIES)
    trackers = TrainingDataGenerator(StoryGraph(steps), DOMAIN, augmentation_factor=0, remove_duplicates=True).generate()
    storage = LocalModelStorage(tmp_path_factory.mktemp("ted"))
    config = {**StateCachedTEDPolicy.get_default_config(), "epochs": 2, "max_history": 3, "random_seed": 1}
    policy = StateCachedTEDPolicy.create(config, storage, Resource("ted"), ExecutionContext(GraphSchema({}), "t"))
    policy.train(trackers, DOMAIN, precomputations=None)
    return policy


def tracker(sender: str, *intents: str) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen")]
    replies = {"greet": "utter_greet", "ask_shipping": "utter_shipping", "goodbye": "utter_goodbye"}
    for n, intent in enumerate(intents):
        events.append(UserUttered(intent, {"name": intent, "confidence": 1.0}))
        if n < len(intents) - 1:
            events += [ActionExecuted(replies[intent]), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(sender, events)


def test_predictions_are_teds_and_the_model_runs_once_per_state_sequence(trained: StateCachedTEDPolicy) -> None:
    runs = []
    original = trained.model.run_inference
    trained.model.run_inference = lambda *a, **k: runs.append(1) or original(*a, **k)  # type: ignore[method-assign]
    try:
        uncached = TEDPolicy.predict_action_probabilities(trained, tracker("x", "greet"), DOMAIN)
        first = trained.predict_action_probabilities(tracker("a", "greet"), DOMAIN)
        again = trained.predict_action_probabilities(tracker("b", "greet"), DOMAIN)  # another conversation, same states
        other = trained.predict_action_probabilities(tracker("c", "greet", "ask_shipping"), DOMAIN)
    finally:
        trained.model.run_inference = original  # type: ignore[method-assign]
    assert np.allclose(first.probabilities, uncached.probabilities) and first.probabilities == again.probabilities
    assert len(runs) == 3  # uncached, first, other: the repeat came from the cache
    assert other.probabilities != first.probabilities


def test_the_cache_is_bounded(trained: StateCachedTEDPolicy) -> None:
    trained.config[CACHE_SIZE_KEY] = 1
    try:
        trained.predict_action_probabilities(tracker("d", "greet"), DOMAIN)
        trained.predict_action_probabilities(tracker("e", "goodbye"), DOMAIN)
        assert len(trained._cache) == 1
    finally:
        trained.config[CACHE_SIZE_KEY] = 10_000


@pytest.mark.parametrize("size", [-1, "many", 2.5, True])
def test_a_bad_cache_size_is_a_config_error(size: object, tmp_path: Path) -> None:
    config = {**StateCachedTEDPolicy.get_default_config(), CACHE_SIZE_KEY: size}
    with pytest.raises(InvalidConfigException, match=repr(size).replace(".", r"\.")):
        StateCachedTEDPolicy.create(config, LocalModelStorage(tmp_path), Resource("ted"), ExecutionContext(GraphSchema({}), "t"))
