"""The effective credentials: Slack and Messenger are off until their variables are set; no secret is written."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.channels.credentials import effective_credentials, write_effective_credentials

SLACK = "bot.channels.slack.BrightbaySlackInput"
FACEBOOK = "bot.channels.facebook.BrightbayFacebookInput"


def test_unset_channels_are_off_and_the_rest_is_kept() -> None:
    kept, skipped = effective_credentials({"SLACK_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "", "FB_VERIFY": "v"})
    assert "bot.channels.rest.CheckedRestInput" in kept and "bot.channels.socketio.WidgetSocketIOInput" in kept
    assert SLACK not in kept and FACEBOOK not in kept
    assert any("SLACK_SIGNING_SECRET" in s for s in skipped)


def test_set_channels_keep_their_placeholders(tmp_path: Path) -> None:
    env = {"SLACK_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "s3cret", "FB_VERIFY": "v", "FB_SECRET": "fbs", "FB_PAGE_ACCESS_TOKEN": "t"}
    path = tmp_path / "credentials.yml"
    assert write_effective_credentials(path, env) == []
    text = path.read_text()
    assert "xoxb-secret" not in text and "s3cret" not in text  # Rasa fills ${...} when it reads the file
    written = yaml.safe_load(text)
    assert written[SLACK] == {"slack_token": "${SLACK_TOKEN}", "slack_signing_secret": "${SLACK_SIGNING_SECRET}"}
    assert written[FACEBOOK]["page-access-token"] == "${FB_PAGE_ACCESS_TOKEN}"
