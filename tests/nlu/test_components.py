"""The NLU components inside Rasa's graph: create, train, persist, load, process."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.few_shot_intent_classifier import FewShotIntentClassifier
from bot.nlu.message_guard import MESSAGE_PROBLEM, MessageGuard
from bot.nlu.order_entity_extractor import OrderEntityExtractor

EXAMPLES = {
    "track_order": ["where is my order", "wheres my package", "track my parcel", "has my order shipped yet", "status of my delivery"],
    "get_refund": ["i want my money back", "refund me please", "can i get a refund", "return this for a refund", "give me a refund for it"],
    "greet": ["hi", "hello there", "hey", "good morning", "hiya"],
}


def make(component, config, storage, name="c"):
    return component.create({**component.get_default_config(), **config}, storage, Resource(name), ExecutionContext(GraphSchema({}), "test"))


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def training_data() -> TrainingData:
    return TrainingData([Message.build(text=t, intent=i) for i, texts in EXAMPLES.items() for t in texts])


def test_classifier_trains_persists_and_loads(storage: LocalModelStorage) -> None:
    classifier = make(FewShotIntentClassifier, {}, storage, "clf")
    resource = classifier.train(training_data())
    loaded = FewShotIntentClassifier.load(
        {**FewShotIntentClassifier.get_default_config()}, storage, resource, ExecutionContext(GraphSchema({}), "test")
    )
    [message] = loaded.process([Message(data={"text": "wher is my ordr??"})])
    assert message.get("intent")["name"] == "track_order"
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "track_order" and len(ranking) == 3
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
    [refund] = loaded.process([Message(data={"text": "I'd like a refund"})])
    assert refund.get("intent")["name"] == "get_refund"


def test_classifier_rejects_bad_config(storage: LocalModelStorage) -> None:
    with pytest.raises(ValueError, match="-1"):
        make(FewShotIntentClassifier, {"regularization": -1}, storage)
    with pytest.raises(ValueError, match=r"\[5, 2\]"):
        make(FewShotIntentClassifier, {"char_ngram_range": [5, 2]}, storage)


def test_entity_extractor_tags_orders_emails_and_zips(storage: LocalModelStorage) -> None:
    extractor = make(OrderEntityExtractor, {}, storage)
    [message] = extractor.process([Message(data={"text": "order #10002, zip 10001, bob@example.com"})])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [
        ("order_id", "10002"), ("zip_code", "10001"), ("email", "bob@example.com")
    ]
    with pytest.raises(ValueError, match="phone"):
        make(OrderEntityExtractor, {"entities": ["phone"]}, storage)


@pytest.mark.parametrize("text, problem", [("", "empty"), ("  \n", "empty"), ("🙂🙂", "no_words"), ("x" * 1001, "too_long")])
def test_guard_marks_unreadable_messages(storage: LocalModelStorage, text: str, problem: str) -> None:
    guard = make(MessageGuard, {}, storage)
    [message] = guard.process([Message(data={"text": text, "intent": {"name": "greet", "confidence": 0.9}})])
    assert message.get(MESSAGE_PROBLEM) == problem
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}


def test_guard_leaves_normal_messages_alone(storage: LocalModelStorage) -> None:
    guard = make(MessageGuard, {}, storage)
    [message] = guard.process([Message(data={"text": "hi 👋", "intent": {"name": "greet", "confidence": 0.9}})])
    assert message.get(MESSAGE_PROBLEM) is None and message.get("intent")["name"] == "greet"
    with pytest.raises(ValueError, match="0"):
        make(MessageGuard, {"max_chars": 0}, storage)
