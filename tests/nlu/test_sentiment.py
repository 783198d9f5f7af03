import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.sentiment import SupportSentimentScorer
from bot.sentiment import score_text


@pytest.mark.parametrize(
    "text",
    ["this is the WORST service ever, you idiots", "I'm going to sue you", "WHERE IS MY ORDER?!!! this is RIDICULOUS", "three weeks late, this is unacceptable"],
)
def test_angry_messages(text: str) -> None:
    sentiment = score_text(text)
    assert sentiment.anger and sentiment.score < 0 and sentiment.label == "negative"


@pytest.mark.parametrize("text", ["ugh, ok, thanks", "where is my order", "thanks so much, great help!", "not great but fine"])
def test_calm_or_mildly_annoyed_messages_are_not_anger(text: str) -> None:
    assert not score_text(text).anger


@pytest.mark.parametrize("text", [
    "i bought a tv and it has dead pixels",  # seen in a chat: read as anger (-0.65) and handed straight off
    "wrong item and it is damaged", "the battery is dead", "the kettle died after a week",
])
def test_a_plain_defect_report_is_negative_but_not_anger(text: str) -> None:
    sentiment = score_text(text)
    assert sentiment.label == "negative" and not sentiment.anger


@pytest.mark.parametrize("text", [
    "ugh. then can i refuse the delivery?",  # seen in a chat: read as anger (-0.61) and handed off
    "ugh, my card was declined and charged", "no, stop, don't cancel it",
])
def test_the_words_of_what_happens_to_an_order_are_not_anger(text: str) -> None:
    assert not score_text(text).anger


def test_a_delay_with_anger_cues_is_still_anger() -> None:
    assert score_text("this is ridiculous, you delayed my order AGAIN").anger


def test_a_defect_report_with_anger_cues_is_still_anger() -> None:
    assert score_text("this is the worst, the tv is dead and nobody helps").anger
    assert score_text("the TV IS DEAD!!! useless").anger


def test_positive_and_neutral() -> None:
    assert score_text("thanks so much, great help!").label == "positive"
    assert score_text("where is my order").label == "neutral"
    assert score_text("").score == 0.0


def test_component_sets_sentiment_and_checks_config(tmp_path) -> None:
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "t")
    config = SupportSentimentScorer.get_default_config()
    scorer = SupportSentimentScorer.create(config, storage, Resource("s"), context)
    [message] = scorer.process([Message(data={"text": "you people are useless"})])
    assert message.get("sentiment")["anger"] is True and message.get("sentiment")["source"] == "lexicon"
    assert "sentiment" in message.as_dict(only_output_properties=True)
    with pytest.raises(ValueError, match="-2"):
        SupportSentimentScorer.create({**config, "anger_threshold": -2}, storage, Resource("s"), context)
