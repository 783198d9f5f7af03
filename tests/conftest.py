"""Shared fixtures: a real, seeded SQLite database per test."""
import shutil
import subprocess
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Iterator

import pytest

# Lets plain `pytest` (not only `python -m pytest`) import the `bot` package.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.db.seed import ensure_demo_data  # noqa: E402
from bot.db.session import dispose_engines, session_scope  # noqa: E402
from bot.orders import OrderService  # noqa: E402

TODAY = date(2026, 3, 15)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file built once per run; tests get copies (seeding takes ~0.3 s)."""
    path = tmp_path_factory.mktemp("template") / "brightbay.db"
    ensure_demo_data(f"sqlite:///{path}", today=TODAY)
    dispose_engines()  # closing the last connection checkpoints the WAL into the main file
    return path


@pytest.fixture
def db_url(tmp_path: Path, seeded_template: Path) -> Iterator[str]:
    """URL of a temp SQLite database with the schema and demo data for ``TODAY``."""
    path = tmp_path / "brightbay-test.db"
    shutil.copyfile(seeded_template, path)
    yield f"sqlite:///{path}"
    dispose_engines()


@pytest.fixture
def order_service(db_url: str) -> OrderService:
    return OrderService(session_factory=partial(session_scope, db_url), today=lambda: TODAY)


from tests.servers import AGENT_TOKEN  # noqa: E402


@pytest.fixture(scope="session")
def handoff_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('handoff-db') / 'brightbay.db'}"
    ensure_demo_data(url)  # today's dates, as the running assistant sees them
    yield url


@pytest.fixture(scope="session")
def handoff_rasa_url(tmp_path_factory: pytest.TempPathFactory, handoff_database_url: str) -> Iterator[str]:
    """Rasa + action server with the live-agent channel, agents always on duty (one start per run)."""
    from tests.servers import assistant_servers

    with assistant_servers(
        tmp_path_factory.mktemp("handoff-servers"), handoff_database_url,
        AGENT_TOKENS=f"alice:{AGENT_TOKEN},bob:other-token", SUPPORT_HOURS="24/7", REDIS_URL="",
    ) as url:
        yield url


REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def _redis_ping() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis (db 15), started if needed; the test is skipped only if it cannot start."""
    if not _redis_ping():
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        subprocess.run(
            [server, "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
             "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
            check=False, capture_output=True, timeout=10,
        )
        deadline = time.monotonic() + 5
        while not _redis_ping():
            if time.monotonic() > deadline:
                pytest.skip("Redis could not be started")
            time.sleep(0.1)
    return REDIS_TEST_URL
