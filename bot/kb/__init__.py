"""Brightbay help-center knowledge base: articles, hybrid retrieval and extractive answers."""
from bot.kb.answer import Answer, extract_answer
from bot.kb.documents import Article, Chunk, chunk_article, load_articles, load_chunks
from bot.kb.index import Hit, HybridIndex, IndexSettings, load_or_build
from bot.kb.source import KnowledgeSource, LocalKnowledgeSource

__all__ = [
    "Answer",
    "Article",
    "Chunk",
    "Hit",
    "HybridIndex",
    "IndexSettings",
    "KnowledgeSource",
    "LocalKnowledgeSource",
    "chunk_article",
    "extract_answer",
    "load_articles",
    "load_chunks",
    "load_or_build",
]
