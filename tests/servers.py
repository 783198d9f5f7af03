"""Starting the real servers (Rasa, the action server) on loopback ports for tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import requests

from bot.channels.credentials import write_effective_credentials

# Channel settings never leak from the caller's environment into test servers.
CHANNEL_VARIABLES = (
    "SLACK_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "FB_VERIFY", "FB_SECRET", "FB_PAGE_ACCESS_TOKEN", "FB_GRAPH_URL",
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = PROJECT_ROOT / "models" / "brightbay.tar.gz"
AGENT_TOKEN = "e2e-secret-token"  # the live-agent token the handoff tests log in with


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**extra: str) -> Dict[str, str]:
    """The environment every server we start gets: no telemetry, no hub."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONPATH=str(PROJECT_ROOT),  # this checkout's bot/ and actions/
    )
    env.update(extra)
    return env


@contextmanager
def running(cmd: List[str], env: Dict[str, str], log_path: Path, health_url: str, timeout: float = 240) -> Iterator[subprocess.Popen]:
    """Run a server until the block ends; fail with its log if it never answers."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if requests.get(health_url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{health_url} did not answer in {timeout}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_endpoints(path: Path, action_port: int, tracker_db: Path, extra: Optional[str] = None) -> Path:
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tracker_db}\n"
        "event_broker:\n  type: bot.handoff.live.LiveAgentEventBroker\n" + (extra or "")
    )
    return path


@contextmanager
def assistant_servers(
    tmp: Path, database_url: str, enable_api: bool = False, api_token: Optional[str] = None, **extra_env: str
) -> Iterator[str]:
    """The action server and Rasa with the channels credentials.yml enables in this environment
    (REST and socket.io always; Slack and Messenger when their variables are in ``extra_env``);
    yields Rasa's base URL. ``api_token`` turns on Rasa's HTTP API with that token."""
    if not MODEL.exists():
        raise RuntimeError(f"{MODEL} is missing: run `make train` first")
    action_port, rasa_port = free_port(), free_port()
    env = server_env(DATABASE_URL=database_url, **extra_env)
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REDIS_URL", *CHANNEL_VARIABLES):
        if key not in extra_env:
            env.pop(key, None)  # only what the caller asks for
    endpoints = write_endpoints(tmp / "endpoints.yml", action_port, tmp / "trackers.db")
    credentials = tmp / "credentials.yml"
    write_effective_credentials(credentials, env)
    actions_cmd = [str(BIN / "rasa"), "run", "actions", "--port", str(action_port), "--actions", "actions"]
    rasa_cmd = [
        str(BIN / "rasa"), "run", "--model", str(MODEL), "--port", str(rasa_port),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
    ] + (["--enable-api"] if enable_api or api_token else []) + (["--auth-token", api_token] if api_token else [])
    with running(actions_cmd, env, tmp / "actions.log", f"http://127.0.0.1:{action_port}/health"):
        with running(rasa_cmd, env, tmp / "rasa.log", f"http://127.0.0.1:{rasa_port}/"):
            yield f"http://127.0.0.1:{rasa_port}"
