"""The product catalogue: which products a question names, and the reply with their prices."""
from functools import partial
from decimal import Decimal

import pytest
from sqlalchemy import update

from bot.catalog import ProductCatalog, asks_about_products, catalogue_answer, catalogue_url, shared_catalog
from bot.db.models import Product
from bot.db.session import session_scope


@pytest.fixture
def catalog(db_url: str) -> ProductCatalog:
    return ProductCatalog(partial(session_scope, db_url))


@pytest.mark.parametrize("question, name, exact", [
    ("how much is the espresso machine?", "Espresso Machine with Grinder", True),
    ("do you sell tents?", "Ultralight 2-Person Tent", True),
    ("do you guys carry kayaks", "Inflatable Kayak, 2-Person", True),
    ("how much is a kindle", 'E-Reader, 7" Glare-Free', True),
    ("do you sell usb-c chargers", "65 W GaN USB-C Charger", True),
    ("how much are smart watches", "Smartwatch Series 4, 44 mm", False),  # "smart" is in three names
    ("do you have the sony headphones in stock?", "Noise-Cancelling Over-Ear Headphones", False),
    ("how much does shipping cost for the tent", "Ultralight 2-Person Tent", False),
])
def test_the_product_a_question_names(catalog, question, name, exact) -> None:
    match = catalog.find(question)
    assert match is not None and match.products[0].name == name and match.exact is exact


def test_a_message_asking_two_things_is_matched_by_its_product_clause(catalog) -> None:
    match = catalog.find("how much is the laptop and does it come with a warranty?")
    assert match.products[0].name == 'Aurora 14" Laptop, 16 GB RAM' and match.exact and not match.whole
    assert catalog.find("how much is the laptop").whole


@pytest.mark.parametrize("question", [
    "how much is the sony wh-1000xm5?", "how much does express shipping cost", "do you have a store in boston?",
    "how much is the return fee", "",
])
def test_questions_naming_no_product(catalog, question) -> None:
    assert catalog.find(question) is None


def test_the_reply_states_the_catalogue_price_and_where_stock_is_shown(catalog) -> None:
    match = catalog.find("how much is the espresso machine?")
    assert catalogue_answer(match, "how much is the espresso machine?").startswith(
        "The Espresso Machine with Grinder costs $649.99. Its product page at brightbay.example shows whether it's in stock")
    assert catalogue_url(match) == "https://brightbay.example/products/HM-2004"
    assert catalogue_answer(match, "do you sell espresso machines").startswith("Yes, we sell the Espresso Machine")
    partial_match = catalog.find("do you have the sony headphones in stock?")
    assert catalogue_answer(partial_match, "...").startswith("I couldn't find exactly that in our catalogue. The closest:")


def test_prices_come_from_the_database(db_url) -> None:
    catalog = ProductCatalog(partial(session_scope, db_url), cache_seconds=0)
    with session_scope(db_url) as session:
        session.execute(update(Product).where(Product.sku == "OD-3001").values(price=Decimal("349.00")))
    assert catalog.find("how much is the tent").products[0].price == Decimal("349.00")


@pytest.mark.parametrize("text, asks", [
    ("how much is the tv", True), ("price of the kettle", True), ("is the kettle in stock", True),
    ("do u sell drones", True), ("where is my order", False), ("how do i return it", False),
])
def test_product_questions(text, asks) -> None:
    assert asks_about_products(text) is asks


def test_the_actions_of_a_process_share_one_catalogue(order_service) -> None:
    # Three actions each built their own ProductCatalog: three caches, three reloads every CACHE_SECONDS.
    from actions.answers import ActionAnswerQuestion
    from actions.order_status import ActionOrderStatus
    from actions.refunds import ActionRequestRefund

    shared = shared_catalog(order_service.session_factory)
    assert ActionOrderStatus(order_service)._catalog is shared
    assert ActionRequestRefund(order_service)._catalog is shared
    assert ActionAnswerQuestion(orders=order_service)._products._catalog is shared
    # Another database has its own.
    assert shared_catalog(partial(session_scope, "sqlite://")) is not shared


def test_item_words_are_each_products_noun_and_the_words_before_it(catalog) -> None:
    words = catalog.item_words()
    assert {"tent", "machine", "bottle", "bag", "tv", "kettle", "smartwatch", "headphone"} <= words.nouns
    assert {"espresso", "water", "sleeping", "ultralight"} <= words.modifiers
    # Customer words for a catalogue word are of its kind; what follows the noun ("with Grinder", ", 1.7 L",
    # "Series 4") and general words ("set", "large") are neither.
    assert {"telly", "television", "rucksack"} <= words.nouns and "flask" in words.nouns
    assert not {"grinder", "serie", "set", "large", "room"} & (words.nouns | words.modifiers)
    assert not words.nouns & words.modifiers
    # Each noun's department, where its products share one ("bag": the sleeping bag, outdoor).
    assert words.departments["kayak"] == "outdoor" and words.departments["kettle"] == "home"
    assert words.departments["telly"] == "electronics"
    # Not for nouns with an everyday meaning ("print your system prompt" is not about an electronic item).
    assert "system" in words.nouns and "system" not in words.departments
