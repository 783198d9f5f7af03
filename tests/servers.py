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
    server = Managed(log_path.stem, cmd, env, log_path, health_url, timeout)
    try:
        yield server.start().process
    finally:
        server.stop()


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
    extra_env.setdefault("WEBHOOK_INBOX_DB", str(tmp / "webhook_inbox.sqlite"))  # not the project's var/
    env = server_env(DATABASE_URL=database_url, **extra_env)
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "REDIS_URL", *CHANNEL_VARIABLES):
        if key not in extra_env:
            env.pop(key, None)  # only what the caller asks for
    endpoints = write_endpoints(tmp / "endpoints.yml", action_port, tmp / "trackers.db")
    credentials = tmp / "credentials.yml"
    write_effective_credentials(credentials, env)
    actions_cmd = [sys.executable, "-m", "bot.launch", "run", "actions", "--port", str(action_port), "--actions", "actions"]
    rasa_cmd = [
        sys.executable, "-m", "bot.launch", "run", "--model", str(MODEL), "--port", str(rasa_port),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
    ] + (["--enable-api"] if enable_api or api_token else []) + (["--auth-token", api_token] if api_token else [])
    with running(actions_cmd, env, tmp / "actions.log", f"http://127.0.0.1:{action_port}/health"):
        with running(rasa_cmd, env, tmp / "rasa.log", f"http://127.0.0.1:{rasa_port}/"):
            yield f"http://127.0.0.1:{rasa_port}"


# --------------------------------------------------------------------------------------
# The production topology on loopback: own PostgreSQL cluster, own Redis, the action
# server, N Rasa instances and nginx, each a process that tests can stop, kill and restart.
# --------------------------------------------------------------------------------------
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


class Managed:
    """One server process: start (and wait for health), stop, kill, restart."""

    def __init__(self, name: str, cmd: List[str], env: Dict[str, str], log_path: Path, health_url: Optional[str],
                 timeout: float = 300) -> None:
        self.name, self.cmd, self.env, self.log_path, self.health_url, self.timeout = name, cmd, env, log_path, health_url, timeout
        self.process: Optional[subprocess.Popen] = None

    def launch(self) -> "Managed":
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(self.cmd, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        return self

    def wait_healthy(self) -> "Managed":
        deadline = time.monotonic() + self.timeout
        while self.health_url:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.health_url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {self.health_url} did not answer in {self.timeout}s:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        return self

    def start(self) -> "Managed":
        return self.launch().wait_healthy()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class PostgresCluster:
    """A throw-away PostgreSQL cluster on its own port, so tests can stop it without touching the machine's."""

    def __init__(self, port: int) -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="brightbay-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])

    def _run(self, cmd: List[str]) -> None:
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300"
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "postgres.log"), "-w", "start"])

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Stack:
    """The loopback production topology for tests and benchmarks.

    ``stack.lb_url`` is nginx, ``stack.rasa_urls`` the instances. Everything runs on free
    ports with its own PostgreSQL cluster (orders and trackers databases) and Redis.
    """

    def __init__(self, tmp: Path, instances: int = 2, nginx: bool = True, own_postgres: bool = True,
                 postgres_url: Optional[str] = None, **extra_env: str) -> None:
        from bot.deploy import nginx_binary

        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} is missing: run `make train` first")
        self.tmp = Path(tmp)
        self.instances = instances
        self.pg = PostgresCluster(free_port()) if own_postgres else None
        self.trackers_url = self.pg.url("brightbay_trackers") if self.pg else (postgres_url or "")
        self.orders_url = self.pg.url("brightbay_orders") if self.pg else (postgres_url or "")
        self.redis_port, self.action_port = free_port(), free_port()
        self.rasa_ports = [free_port() for _ in range(instances)]
        self.lb_port = free_port()
        self.env = server_env(
            DATABASE_URL=self.orders_url, TRACKER_DB_URL=self.trackers_url,
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            **extra_env,
        )
        for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "EVENT_BROKER_URL"):
            if key not in extra_env:
                self.env.pop(key, None)
        self.redis = Managed("redis", [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], self.env, self.tmp / "redis.log", None)
        self.actions = Managed("actions", [sys.executable, "-m", "bot.launch", "run", "actions", "--port", str(self.action_port), "--actions", "actions"],
                               self.env, self.tmp / "actions.log", f"http://127.0.0.1:{self.action_port}/health")
        self.rasa = [
            Managed(f"rasa-{n}", [sys.executable, "-m", "bot.launch", "run", "--model", str(MODEL), "--port", str(port),
                                  "--endpoints", str(PROJECT_ROOT / "endpoints.yml"),
                                  "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--enable-api"],
                    self.env, self.tmp / f"rasa-{n}.log", f"http://127.0.0.1:{port}/")
            for n, port in enumerate(self.rasa_ports)
        ]
        self.nginx: Optional[Managed] = None
        if nginx:
            from bot.deploy import nginx_conf

            binary = nginx_binary()
            if binary is None:
                raise RuntimeError("nginx is not installed: run `make nginx`")
            conf = nginx_conf(self.tmp / "nginx", self.lb_port, self.rasa_ports)
            self.nginx = Managed("nginx", [binary, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "nginx-error.log")],
                                 self.env, self.tmp / "nginx.log", f"http://127.0.0.1:{self.lb_port}/nginx-health")

    @property
    def rasa_urls(self) -> List[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def lb_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def wait_redis(self) -> None:
        import redis

        client = redis.Redis(port=self.redis_port, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def start_stores(self) -> None:
        from bot.db.seed import ensure_demo_data
        from bot.db.session import dispose_engines
        from bot.deploy import ensure_postgres_database

        if self.pg:
            self.pg.start()
        for url in {self.trackers_url, self.orders_url}:
            ensure_postgres_database(url)
        ensure_demo_data(self.orders_url)
        dispose_engines()
        self.redis.launch()
        self.wait_redis()

    def start_rasa(self, indexes: Optional[List[int]] = None) -> None:
        chosen = [self.rasa[i] for i in (range(len(self.rasa)) if indexes is None else indexes)]
        for instance in chosen:  # in parallel: each one takes a while to load the model
            instance.launch()
        with ThreadPoolExecutor(len(chosen)) as pool:
            list(pool.map(Managed.wait_healthy, chosen))

    def start(self) -> "Stack":
        self.start_stores()
        self.actions.launch()
        self.start_rasa()
        self.actions.wait_healthy()
        if self.nginx:
            self.nginx.start()
        return self

    def stop(self) -> None:
        for server in ([self.nginx] if self.nginx else []) + self.rasa + [self.actions, self.redis]:
            server.stop()
        if self.pg:
            self.pg.stop()

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            if self.pg:
                self.pg.destroy()
            # pytest keeps only its last few temp folders (and other runs rotate them away): keep the logs.
            keep = PROJECT_ROOT / "var" / "test-logs" / f"{self.tmp.name}-{time.strftime('%Y%m%d-%H%M%S')}"
            keep.mkdir(parents=True, exist_ok=True)
            for log in self.tmp.glob("*.log"):
                shutil.copy(log, keep / log.name)

    def __enter__(self) -> "Stack":
        try:
            return self.start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()
