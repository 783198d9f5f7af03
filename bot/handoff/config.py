"""The HandoffPolicy settings from config.yml, for code outside Rasa's graph (the action server)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from bot.handoff.decision import validate_config
from bot.paths import PROJECT_ROOT

POLICY_NAMES = {"HandoffPolicy", "bot.policies.handoff_policy.HandoffPolicy"}


@lru_cache(maxsize=4)
def policy_config(path: Optional[str] = None) -> Dict[str, Any]:
    """The validated decision settings of the HandoffPolicy entry in ``path`` (default config.yml)."""
    config_path = Path(path) if path else PROJECT_ROOT / "config.yml"
    data = yaml.safe_load(config_path.read_text()) or {}
    for entry in data.get("policies") or []:
        if isinstance(entry, dict) and entry.get("name") in POLICY_NAMES:
            return validate_config(entry)
    return validate_config({})
