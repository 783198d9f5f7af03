"""The assistant's training data: every fixed intent, enough examples, written by us."""
from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
import yaml

from tests.servers import PROJECT_ROOT

BITEXT = PROJECT_ROOT.parent / "shared" / "datasets" / "bitext_customer_support" / "dev.csv"
FIXED_INTENTS = set(
    """cancel_order change_order change_shipping_address check_cancellation_fee check_invoice check_payment_methods
    check_refund_policy complaint contact_customer_service contact_human_agent create_account delete_account
    delivery_options delivery_period edit_account get_invoice get_refund newsletter_subscription payment_issue
    place_order recover_password registration_problems review set_up_shipping_address switch_account track_order
    track_refund greet goodbye affirm deny thank_you out_of_scope inform""".split()
)
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def nlu_examples() -> Counter:
    """(intent, plain text) pairs from data/nlu, entity markup removed."""
    examples = Counter()
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples[(block["intent"], ANNOTATION.sub(r"\1", line[2:]).strip())] += 1
    return examples


def test_domain_has_exactly_the_fixed_intents() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    assert set(domain["intents"]) == FIXED_INTENTS


def test_every_intent_has_at_least_20_examples() -> None:
    per_intent = Counter(intent for intent, _ in nlu_examples())
    assert set(per_intent) == FIXED_INTENTS
    assert min(per_intent.values()) >= 20, per_intent.most_common()[-5:]


def test_no_example_is_repeated() -> None:
    texts = Counter(text.lower() for _, text in nlu_examples())
    assert [t for t, n in texts.items() if n > 1] == []


def test_order_numbers_are_written_in_several_forms() -> None:
    texts = [text for _, text in nlu_examples()]
    assert any(re.search(r"#\d{5}", t) for t in texts)
    assert any(re.search(r"\border \d{5}", t, re.I) for t in texts)
    assert any(re.fullmatch(r"\d{5}", t) for t in texts)


@pytest.mark.skipif(not BITEXT.exists(), reason=f"{BITEXT} is not here")
def test_at_most_one_percent_of_examples_are_copied_from_bitext() -> None:
    with BITEXT.open(newline="") as handle:
        external = {row["instruction"].strip().lower() for row in csv.DictReader(handle)}
    ours = [text.lower() for _, text in nlu_examples()]
    copied = [t for t in ours if t in external]
    assert len(copied) / len(ours) <= 0.01, copied[:10]


@pytest.mark.skipif(not BITEXT.exists(), reason=f"{BITEXT} is not here")
def test_at_most_one_percent_of_examples_are_near_copies_of_bitext() -> None:
    """A Bitext sentence with a word, a city or a typo changed is still a copy.

    Near copy: character-trigram Jaccard >= 0.8 between the normalised texts (lower case,
    no punctuation, collapsed whitespace); see benchmarks/overlap.py.
    """
    from benchmarks.overlap import near_copies

    with BITEXT.open(newline="") as handle:
        external = [row["instruction"] for row in csv.DictReader(handle)]
    ours = [text for _, text in nlu_examples()]
    copies = near_copies(ours, external)
    assert len(copies) / len(ours) <= 0.01, copies[:10]


def _external_sentences(name: str) -> list:
    from benchmarks.common import DATASETS, bitext_rows, clinc_oos

    if name == "banking77":
        with (DATASETS / "banking77" / "train.csv").open(newline="") as handle:
            return [row["text"] for row in csv.DictReader(handle)]
    return clinc_oos() if name == "clinc150" else [row["instruction"] for row in bitext_rows()]


@pytest.mark.parametrize("dataset", ["bitext_customer_support", "banking77", "clinc150"])
def test_no_example_equals_a_sentence_of_the_evaluation_data(dataset: str) -> None:
    """Not even a short, common one: data/ is written by this project (case and punctuation ignored)."""
    from benchmarks.common import DATASETS
    from benchmarks.overlap import normalise

    if not (DATASETS / dataset).exists():
        pytest.skip(f"{DATASETS / dataset} is not here")
    external = {normalise(t) for t in _external_sentences(dataset)}
    assert sorted({text for _, text in nlu_examples() if normalise(text) in external}) == []


def test_near_copy_check_catches_light_edits() -> None:
    from benchmarks.overlap import near_copies

    external = ["can i place an order from Toronto?", "I expect a refund of 160 dollars"]
    assert [c[0] for c in near_copies(["Can I place an order from Toronto", "i expect a refund of 180 dollars!",
                                       "do you ship parcels to canada"], external)] == [
        "Can I place an order from Toronto", "i expect a refund of 180 dollars!"]
