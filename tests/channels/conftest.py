"""One set of real servers for the channel tests: the action server and Rasa with every channel
(REST, socket.io with the widget, Slack and Messenger pointed at a fake Slack Web API and Graph
API on loopback) and Rasa's HTTP API with a token."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot.db.seed import ensure_demo_data
from bot.db.session import dispose_engines
from tests.fake_platforms import FakePlatforms
from tests.servers import AGENT_TOKEN, assistant_servers

API_TOKEN = "channels-test-api-token"
SLACK_SIGNING_SECRET = "slack-signing-secret-for-tests"
FB_SECRET = "facebook-app-secret-for-tests"
FB_VERIFY = "brightbay-verify-token"


@pytest.fixture(scope="session")
def platforms() -> Iterator[FakePlatforms]:
    with FakePlatforms() as fake:
        yield fake


@pytest.fixture(scope="session")
def channel_env(platforms: FakePlatforms) -> Dict[str, str]:
    return {
        "SLACK_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_API_URL": platforms.slack_api_url,
        "FB_VERIFY": FB_VERIFY,
        "FB_SECRET": FB_SECRET,
        "FB_PAGE_ACCESS_TOKEN": "page-access-token-for-tests",
        "FB_GRAPH_URL": platforms.graph_url,
        # Live agents can answer these customers at any hour (tests/channels/test_agent_replies_on_platforms.py).
        "AGENT_TOKENS": f"alice:{AGENT_TOKEN}",
        "SUPPORT_HOURS": "24/7",
    }


@pytest.fixture(scope="session")
def channels_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("channel-servers")


@pytest.fixture(scope="session")
def channels_inbox_db(channels_tmp: Path) -> Path:
    """The SQLite webhook inbox of the channels' Rasa server (no REDIS_URL: the embedded default)."""
    return channels_tmp / "webhook_inbox.sqlite"


@pytest.fixture(scope="session")
def channels_url(channels_tmp: Path, channels_inbox_db: Path, channel_env: Dict[str, str]) -> Iterator[str]:
    tmp = channels_tmp
    database_url = f"sqlite:///{tmp / 'brightbay.db'}"
    ensure_demo_data(database_url)
    dispose_engines()
    with assistant_servers(tmp, database_url, api_token=API_TOKEN, WEBHOOK_INBOX_DB=str(channels_inbox_db),
                           **channel_env) as url:
        yield url
