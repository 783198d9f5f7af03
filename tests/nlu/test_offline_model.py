"""The offline intent model and its Rasa component: calibration, out-of-scope, persistence."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.few_shot_intent_classifier import FewShotIntentClassifier
from bot.nlu.offline_model import (OfflineIntentModel, apply_out_of_scope, expected_calibration_error,
                                   fit_temperature)

EXAMPLES = {
    "track_order": ["where is my order", "wheres my package", "track my parcel", "has my order shipped yet",
                    "status of my delivery", "when does my package arrive", "is my parcel on the way"],
    "get_refund": ["i want my money back", "refund me please", "can i get a refund", "return this for a refund",
                   "give me a refund for it", "i need a refund for a broken item", "please refund my purchase"],
    "greet": ["hi", "hello there", "hey", "good morning", "hiya", "hello", "hey there"],
    "out_of_scope": ["what's the weather tomorrow", "tell me a joke", "who won the match", "play some music",
                     "what is the capital of peru", "write a poem about cats", "how tall is everest"],
}
TEXTS = [t for texts in EXAMPLES.values() for t in texts]
LABELS = [i for i, texts in EXAMPLES.items() for _ in texts]
CONTEXT = ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(scope="module")
def model() -> OfflineIntentModel:
    return OfflineIntentModel(calibration_folds=3).fit(TEXTS, LABELS)


def test_probabilities_sum_to_one_and_temperature_is_fitted(model: OfflineIntentModel) -> None:
    probabilities = model.predict_proba(["where is my parcel", "refund pls", "hello!"])
    assert probabilities.shape == (3, len(EXAMPLES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert model.temperature_ > 0 and model.temperature_ != 1.0
    assert model.calibration_["folds"] == 3 and 0 <= model.calibration_["ece_after"] <= 1
    assert [model.classes_[i] for i in probabilities.argmax(axis=1)] == ["track_order", "get_refund", "greet"]


def test_fit_temperature_recovers_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 2000)
    scores = rng.normal(size=(2000, 3))
    scores[np.arange(2000), labels] += 1.0
    # Scores ten times too sharp: the fitted temperature must flatten them (T well above 1).
    temperature = fit_temperature(scores * 10, labels)
    assert 5 < temperature < 20
    assert expected_calibration_error(np.full((4, 2), 0.5), np.array([1, 0, 1, 0])) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([[1.0, 0.0]] * 4), np.zeros(4)) == pytest.approx(1.0)


def test_out_of_scope_rule_keeps_confident_and_rejects_unsure() -> None:
    intents = ["a", "b", "out_of_scope"]
    verdicts = apply_out_of_scope(np.array([[0.9, 0.05, 0.05], [0.45, 0.35, 0.2], [0.1, 0.2, 0.7]]), intents, 0.5)
    assert verdicts[0] == ("a", pytest.approx(0.9))
    assert verdicts[1] == ("out_of_scope", pytest.approx(0.55))
    assert verdicts[2] == ("out_of_scope", pytest.approx(0.7))
    assert apply_out_of_scope(np.array([[0.45, 0.35, 0.2]]), intents, 0.0)[0][0] == "a"


def test_a_message_torn_between_two_intents_is_not_out_of_scope() -> None:
    # "i want to cancel order 10001 and get a refund": cancel_order 0.49, get_refund 0.49.
    intents = ["cancel_order", "get_refund", "greet", "out_of_scope"]
    torn, spread, with_oos = np.array([[0.49, 0.49, 0.01, 0.01]]), np.array([[0.45, 0.3, 0.2, 0.05]]), np.array([[0.5, 0.05, 0.0, 0.45]])
    assert apply_out_of_scope(torn, intents, 0.58, pair_threshold=0.9) == [("cancel_order", pytest.approx(0.49))]
    assert apply_out_of_scope(torn, intents, 0.58)[0][0] == "out_of_scope"  # without the pair rule
    assert apply_out_of_scope(spread, intents, 0.58, pair_threshold=0.9)[0][0] == "out_of_scope"  # 0.75 together
    # The second being out_of_scope itself is no second intent.
    assert apply_out_of_scope(with_oos, intents, 0.58, pair_threshold=0.9)[0][0] == "out_of_scope"


def test_save_and_load_round_trip(model: OfflineIntentModel, tmp_path: Path) -> None:
    texts = ["wher is my ordr", "money back please", "good evening"]
    before = model.predict_proba(texts)
    loaded = OfflineIntentModel.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict_proba(texts), before, atol=1e-9)
    assert loaded.classes_ == model.classes_ and loaded.temperature_ == model.temperature_
    assert loaded.params == model.params


def make(config, storage: LocalModelStorage, name: str = "clf") -> FewShotIntentClassifier:
    return FewShotIntentClassifier.create(
        {**FewShotIntentClassifier.get_default_config(), **config}, storage, Resource(name), CONTEXT
    )


def test_component_persists_loads_and_sends_nonsense_out_of_scope(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    data = TrainingData([Message.build(text=t, intent=i) for t, i in zip(TEXTS, LABELS)])
    resource = make({}, storage).train(data)
    loaded = FewShotIntentClassifier.load(
        {**FewShotIntentClassifier.get_default_config(), "out_of_scope_threshold": 0.58}, storage, resource, CONTEXT
    )
    assert loaded.model is not None and loaded.model.temperature_ > 0
    track, nonsense = loaded.process(
        [Message(data={"text": "where is my package?"}), Message(data={"text": "zxqv blorp wibble frnk"})]
    )
    assert track.get("intent")["name"] == "track_order"
    assert nonsense.get("intent")["name"] == "out_of_scope"
    ranking = nonsense.get("intent_ranking")
    assert len(ranking) == len(EXAMPLES) and abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
    assert nonsense.get("offline_intent")["name"] == ranking[0]["name"]


@pytest.mark.parametrize("threshold", [1.5, -0.1, "high"])
def test_component_rejects_threshold_outside_unit_interval(tmp_path: Path, threshold) -> None:
    with pytest.raises(ValueError, match=f"out_of_scope_threshold.*{threshold}"):
        make({"out_of_scope_threshold": threshold}, LocalModelStorage(tmp_path))


def test_component_rejects_bad_kernel_weight(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kernel_weight.*2"):
        make({"kernel_weight": 2}, LocalModelStorage(tmp_path))


def test_every_default_has_a_comment() -> None:
    import inspect

    source = inspect.getsource(FewShotIntentClassifier.get_default_config)
    lines = source.splitlines()
    for key in FewShotIntentClassifier.get_default_config():
        index = next(i for i, line in enumerate(lines) if f'"{key}":' in line)
        assert lines[index - 1].strip().startswith("#"), key


@pytest.mark.parametrize("n_classes", [3, 7, 34])
def test_one_vs_rest_scores_equal_sklearns(n_classes: int) -> None:
    from sklearn.svm import SVC

    from bot.nlu.offline_model import one_vs_rest_scores

    rng = np.random.default_rng(n_classes)
    features, labels = rng.normal(size=(20 * n_classes, 6)), np.arange(20 * n_classes) % n_classes
    sklearns = SVC(decision_function_shape="ovr").fit(features, labels).decision_function(features[:40])
    pairs = SVC(decision_function_shape="ovo").fit(features, labels).decision_function(features[:40])
    assert np.allclose(one_vs_rest_scores(pairs, n_classes), sklearns, atol=1e-12)
