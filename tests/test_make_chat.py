"""`make chat` end to end: set-up, action server, rasa shell in a pseudo-terminal, clean exit."""
from __future__ import annotations

import socket

import pexpect

from tests.servers import PROJECT_ROOT, free_port, server_env


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_chat_answers_an_order_question_and_stops_the_action_server() -> None:
    port = free_port()
    env = server_env(ACTION_SERVER_URL=f"http://127.0.0.1:{port}/webhook")
    chat = pexpect.spawn(
        "make", ["chat", f"ACTION_PORT={port}", f"RASA_PORT={free_port()}"], cwd=str(PROJECT_ROOT), env=env, encoding="utf-8", timeout=300,
        dimensions=(50, 200),
    )
    try:
        chat.expect("Your input ->")
        assert port_open(port), "the action server should be running while the shell is open"
        chat.sendline("where is my order 10001")
        chat.expect("email address or ZIP code", timeout=60)
        chat.expect("Your input ->")
        chat.sendline("alice@example.com")
        chat.expect(r"Order 10001 \(\$89\.90\) shipped", timeout=60)
        chat.expect("UPS")
        chat.expect("Your input ->")
        chat.sendline("/stop")
        chat.expect(pexpect.EOF, timeout=60)
    finally:
        chat.close(force=True)
    assert not port_open(port), "make chat must stop the action server when the shell exits"
