"""`python -m bot.launch run ...`: Rasa's command line with this project's environment defaults.

Rasa 3.6 expands ``${VAR}`` in endpoints.yml but fails when the variable is unset;
this entry point fills in the defaults first, then runs Rasa's own CLI unchanged.
"""
from __future__ import annotations

import os
import sys

DEFAULTS = {
    "ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def main() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
