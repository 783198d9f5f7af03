"""Help-center articles on disk and their split into retrievable chunks."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, List, Optional

from bot.paths import PROJECT_ROOT

KB_DIR = PROJECT_ROOT / "data" / "kb"
BASE_URL = "https://help.brightbay.example/"
MAX_CHUNK_CHARS = 600
INTRO_SECTION = "Overview"  # the section name of text before the first `##`

_ID_LINE = re.compile(r"^id:\s*(\S+)\s*$")


@dataclass(frozen=True)
class Article:
    """One help-center article: its stable id, title and Markdown body (without the header)."""

    id: str
    title: str
    body: str

    @property
    def url(self) -> str:
        return BASE_URL + self.id


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: one or more paragraphs of one article section."""

    article_id: str
    title: str
    section: str
    text: str

    @property
    def url(self) -> str:
        return BASE_URL + self.article_id

    @property
    def search_text(self) -> str:
        """What gets indexed: the heading path gives short paragraphs their topic."""
        return f"{self.title}. {self.section}. {self.text}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Chunk":
        return cls(**data)


def parse_article(text: str, fallback_id: Optional[str] = None) -> Article:
    """Read the `id:` header (optionally between `---` lines) and the `# Title` line."""
    article_id, title, body_start = fallback_id, None, 0
    lines = text.splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped == "---":
            continue
        id_match = _ID_LINE.match(stripped)
        if id_match:
            article_id = id_match.group(1)
        elif stripped.startswith("# "):
            title, body_start = stripped[2:].strip(), number + 1
            break
        else:
            break
    if not article_id or not title:
        raise ValueError("an article needs an 'id:' line and a '# Title' line before its text")
    return Article(id=article_id, title=title, body="\n".join(lines[body_start:]).strip())


def article_files(kb_dir: Path = KB_DIR) -> List[Path]:
    """The article files, in a stable order (the order feeds the fingerprint)."""
    return sorted(Path(kb_dir).glob("*.md"))


def load_articles(kb_dir: Path = KB_DIR) -> List[Article]:
    """Every article in ``kb_dir``; duplicate ids are an error."""
    articles = [parse_article(p.read_text(encoding="utf-8"), fallback_id=p.stem) for p in article_files(kb_dir)]
    ids = [a.id for a in articles]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate article ids: {sorted(duplicates)}")
    return articles


def _sections(body: str) -> Iterable[tuple]:
    """(heading, paragraphs) pairs; text before the first `##` is the "Overview" section."""
    heading, paragraphs, current = INTRO_SECTION, [], []
    for line in body.splitlines() + [""]:
        stripped = line.strip()
        if stripped.startswith("## "):
            if current:
                paragraphs.append(" ".join(current))
            if paragraphs:
                yield heading, paragraphs
            heading, paragraphs, current = stripped[3:].strip(), [], []
        elif not stripped:
            if current:
                paragraphs.append(" ".join(current))
            current = []
        else:
            current.append(stripped)
    if paragraphs:
        yield heading, paragraphs


def chunk_article(article: Article, max_chars: int = MAX_CHUNK_CHARS) -> List[Chunk]:
    """Split by `##` section, then by paragraph; adjacent short paragraphs of a section merge up to ``max_chars``."""
    chunks: List[Chunk] = []
    for heading, paragraphs in _sections(article.body):
        buffer = ""
        for paragraph in paragraphs:
            if buffer and len(buffer) + 1 + len(paragraph) > max_chars:
                chunks.append(Chunk(article.id, article.title, heading, buffer))
                buffer = paragraph
            else:
                buffer = f"{buffer} {paragraph}".strip()
        if buffer:
            chunks.append(Chunk(article.id, article.title, heading, buffer))
    return chunks


def load_chunks(kb_dir: Path = KB_DIR, max_chars: int = MAX_CHUNK_CHARS) -> List[Chunk]:
    """All chunks of all articles in ``kb_dir``."""
    return [chunk for article in load_articles(kb_dir) for chunk in chunk_article(article, max_chars)]
