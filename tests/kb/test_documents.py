"""Articles load with ids and titles; chunks follow sections and paragraphs."""
import pytest

from bot.kb.documents import Article, chunk_article, load_articles, load_chunks, parse_article

ARTICLE = """---
id: help/test
---
# Test article

Intro paragraph.

## First section

Short one.

Short two.

## Second section

""" + ("A long sentence about shipping. " * 15) + "\n\n" + ("Another long sentence about returns. " * 15)


def test_header_and_title_are_parsed():
    article = parse_article(ARTICLE)
    assert (article.id, article.title) == ("help/test", "Test article")
    assert article.url == "https://help.brightbay.example/help/test"
    assert not article.body.startswith("#")


def test_an_article_without_title_is_rejected():
    with pytest.raises(ValueError):
        parse_article("id: help/x\n\nno title here")


def test_chunks_keep_section_and_merge_only_short_paragraphs():
    chunks = chunk_article(parse_article(ARTICLE))
    assert [c.section for c in chunks] == ["Overview", "First section", "Second section", "Second section"]
    assert chunks[1].text == "Short one. Short two."
    assert all(c.article_id == "help/test" and c.title == "Test article" for c in chunks)
    assert all(len(c.text) <= 600 for c in chunks)
    assert "Test article" in chunks[2].search_text and "Second section" in chunks[2].search_text


def test_the_help_center_has_the_expected_articles():
    articles = load_articles()
    assert 10 <= len(articles) <= 14
    ids = {a.id for a in articles}
    assert {"help/returns", "help/refunds", "help/shipping", "help/payment", "help/account", "help/contact"} <= ids
    chunks = load_chunks()
    assert {c.article_id for c in chunks} == ids
    assert all(isinstance(a, Article) and a.title for a in articles)


@pytest.mark.parametrize("fact", [
    "30 days from delivery", "15 days", "$6.95", "5-7 business days", "above $500", "$14.99", "$5.99",
    "free on orders over $50", "7-14 business days", "$24.99", "UPS and USPS", "48 hours", "1-year limited warranty",
    "2-year protection plan", "cryptocurrency", "14 days of purchase", "60 minutes", "within 30 days",
    "Saturday 9:00-17:00 ET", "1-800-555-0199", "Account > Preferences",
])
def test_required_facts_are_stated(fact):
    assert any(fact in c.text for c in load_chunks())
