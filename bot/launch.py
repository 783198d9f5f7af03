"""`python -m bot.launch run ...`: Rasa's command line with this project's environment defaults.

Rasa 3.6 expands ``${VAR}`` in endpoints.yml and credentials.yml but fails when the
variable is unset; this entry point fills in the defaults first and hands Rasa the
effective credentials (channels whose variables are unset left out, see
bot/channels/credentials.py), then runs Rasa's own CLI unchanged.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import List

DEFAULTS = {
    "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def with_effective_credentials(argv: List[str]) -> List[str]:
    """``--credentials FILE`` replaced by the file Rasa can read in this environment."""
    if "--credentials" not in argv[:-1]:
        return argv
    from bot.channels.credentials import write_effective_credentials

    index = argv.index("--credentials") + 1
    handle, effective = tempfile.mkstemp(prefix="credentials-", suffix=".yml")
    os.close(handle)
    write_effective_credentials(Path(effective), os.environ, Path(argv[index]))
    return argv[:index] + [effective] + argv[index + 1 :]


def main() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    sys.argv = with_effective_credentials(sys.argv)
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
