"""`python -m bot.launch run ...`: Rasa's command line with this project's environment defaults.

Every server of the project starts through it: `python -m bot.launch run ...` for Rasa and
`python -m bot.launch run actions ...` for the action server.

Rasa 3.6 expands ``${VAR}`` in endpoints.yml and credentials.yml but fails when the
variable is unset; this entry point fills in the defaults first and hands Rasa the
effective credentials (channels whose variables are unset left out, see
bot/channels/credentials.py), then runs Rasa's own CLI unchanged.
"""
from __future__ import annotations

import atexit
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
    # Sanic (Rasa and the action server) closes a connection that has sent no request within its
    # keep-alive timeout, 5 s by default. A Rasa instance busy with other conversations can open the
    # connection to the action server and write the request seconds later; with 5 s, about 4% of
    # action calls under 100 concurrent conversations failed with "Cannot write to closing transport".
    # It also outlives nginx's 60 s upstream keep-alive, so the balancer never reuses a closed socket.
    "SANIC_KEEP_ALIVE_TIMEOUT": "75",
    # One thread per BLAS/OpenMP pool: a server multiplies small matrices for one message at a time,
    # and idle pool threads spinning on two cores take CPU from the event loop (llm_load.py every-turn
    # p95: 1595 and 1767 ms without, 1491 and 1437 ms with, on an idle machine).
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def with_effective_credentials(argv: List[str]) -> List[str]:
    """``--credentials FILE`` replaced by the file Rasa can read in this environment."""
    if "--credentials" not in argv[:-1]:
        return argv
    from bot.channels.credentials import write_effective_credentials

    index = argv.index("--credentials") + 1
    handle, effective = tempfile.mkstemp(prefix="credentials-", suffix=".yml")
    os.close(handle)
    atexit.register(Path(effective).unlink, missing_ok=True)
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
