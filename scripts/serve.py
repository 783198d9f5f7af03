"""Start or stop the production topology on loopback (`make serve`, `make serve-stop`).

    python scripts/serve.py start [--instances 2] [--port 8080]
    python scripts/serve.py status
    python scripts/serve.py stop

Starts PostgreSQL and Redis when they are down (the machine's own services), creates the
databases when missing, seeds the orders, then starts the action server, INSTANCES Rasa
processes and nginx in front of them, each in the background with its pid and log in var/serve/.
Environment (defaults in brackets): TRACKER_DB_URL [postgresql://postgres@127.0.0.1:5432/brightbay_trackers],
DATABASE_URL [postgresql://postgres@127.0.0.1:5432/brightbay_orders], REDIS_URL [redis://127.0.0.1:6379/0],
ACTION_PORT [5055], RASA_PORT [5005: instances on 5005, 5006, ...].
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.deploy import ensure_postgres_database, nginx_binary, nginx_conf  # noqa: E402
from bot.launch import DEFAULTS as LAUNCH_DEFAULTS  # noqa: E402

RUN_DIR = ROOT / "var" / "serve"
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "brightbay.tar.gz"


def env() -> dict:
    values = dict(os.environ)
    values.setdefault("TRACKER_DB_URL", "postgresql://postgres@127.0.0.1:5432/brightbay_trackers")
    values.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/brightbay_orders")
    values.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    values.setdefault("REDIS_KEY_PREFIX", "brightbay")
    values.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{values.get('ACTION_PORT', '5055')}/webhook")
    for key, value in LAUNCH_DEFAULTS.items():  # the seed run gets what the servers get from bot.launch
        values.setdefault(key, value)
    values["PYTHONPATH"] = str(ROOT)
    return values


def ensure_services(values: dict) -> None:
    """The machine's PostgreSQL and Redis: started when they are down."""
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        print(f"starting PostgreSQL {version}")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    if subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True).returncode != 0:
        print("starting Redis")
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
                        "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"], check=True)


def spawn(name: str, cmd: list, values: dict) -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / f"{name}.log", "ab") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=values, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (RUN_DIR / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def wait(name: str, url: str, timeout: float = 600) -> None:
    pid = int((RUN_DIR / f"{name}.pid").read_text())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit(f"{name} exited; see {RUN_DIR / (name + '.log')}")
        try:
            if requests.get(url, timeout=2).ok:
                print(f"{name} up: {url}")
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f"{name} did not answer on {url} in {timeout:.0f}s; see {RUN_DIR / (name + '.log')}")


def start(instances: int, port: int) -> None:
    if any(alive(p) for p in glob.glob(str(RUN_DIR / "*.pid"))):
        sys.exit("already running: `make serve-stop` first")
    if not MODEL.exists():
        sys.exit(f"{MODEL} is missing: run `make train`")
    values = env()
    ensure_services(values)
    for url in {values["TRACKER_DB_URL"], values["DATABASE_URL"]}:
        if ensure_postgres_database(url):
            print(f"created database {url.rsplit('/', 1)[-1]}")
    subprocess.run([sys.executable, "-m", "bot.db.seed"], cwd=ROOT, env=values, check=True)
    action_port = int(values.get("ACTION_PORT", 5055))
    first_rasa = int(values.get("RASA_PORT", 5005))
    rasa_ports = [first_rasa + n for n in range(instances)]
    spawn("actions", [sys.executable, "-m", "bot.launch", "run", "actions", "--port", str(action_port), "--actions", "actions"], values)
    for n, rasa_port in enumerate(rasa_ports):
        spawn(f"rasa-{n}", [sys.executable, "-m", "bot.launch", "run", "--model", str(MODEL), "--port", str(rasa_port),
                            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"], values)
    binary = nginx_binary()
    if binary is None:
        sys.exit("nginx is not installed: run `make nginx`")
    conf = nginx_conf(RUN_DIR / "nginx", port, rasa_ports)
    wait("actions", f"http://127.0.0.1:{action_port}/health")
    for n, rasa_port in enumerate(rasa_ports):
        wait(f"rasa-{n}", f"http://127.0.0.1:{rasa_port}/")
    spawn("nginx", [binary, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "nginx-error.log")], values)
    wait("nginx", f"http://127.0.0.1:{port}/nginx-health")
    print(f"\nBrightbay on http://127.0.0.1:{port}/webhooks/rest/webhook ({instances} Rasa instances; logs in {RUN_DIR})")
    print(f"  curl -s -XPOST http://127.0.0.1:{port}/webhooks/rest/webhook -d '{{\"sender\": \"me\", \"message\": \"where is my order 10001\"}}'")
    print("stop with `make serve-stop`")


def alive(pidfile: str) -> bool:
    try:
        os.kill(int(Path(pidfile).read_text()), 0)
        return True
    except (ProcessLookupError, ValueError, FileNotFoundError):
        return False


def stop() -> None:
    pidfiles = sorted(glob.glob(str(RUN_DIR / "*.pid")), key=lambda p: (not p.endswith("nginx.pid"), p))
    for pidfile in pidfiles:  # nginx first, so no request reaches a stopping instance
        name = Path(pidfile).stem
        pid = int(Path(pidfile).read_text())
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(80):
                os.kill(pid, 0)
                time.sleep(0.25)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        Path(pidfile).unlink(missing_ok=True)
        print(f"stopped {name}")
    shutil.rmtree(RUN_DIR / "nginx" / "client_body", ignore_errors=True)


def status() -> None:
    for pidfile in sorted(glob.glob(str(RUN_DIR / "*.pid"))):
        print(f"{Path(pidfile).stem:10} {'running' if alive(pidfile) else 'dead'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--instances", type=int, default=int(os.environ.get("INSTANCES", 2)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SERVE_PORT", 8080)))
    args = parser.parse_args()
    {"start": lambda: start(args.instances, args.port), "stop": stop, "status": status}[args.command]()


if __name__ == "__main__":
    main()
