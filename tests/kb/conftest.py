"""One help-center index per test run (building it embeds ~60 chunks)."""
from pathlib import Path

import pytest

from bot.kb.index import HybridIndex, load_or_build
from bot.kb.source import LocalKnowledgeSource


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory: pytest.TempPathFactory) -> HybridIndex:
    return load_or_build(index_dir=tmp_path_factory.mktemp("kb-index"))


@pytest.fixture(scope="session")
def kb_source(kb_index: HybridIndex) -> LocalKnowledgeSource:
    return LocalKnowledgeSource(kb_index)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of data/kb that a test may edit."""
    import shutil

    from bot.kb.documents import KB_DIR

    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target
