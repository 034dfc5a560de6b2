"""Webhooks against real ``registry serve`` processes: a message survives ``kill -9`` of
the server right after the change's 2xx, and two servers on one database deliver each
message exactly once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx

from tests.blackbox.server import Server, server_env
from tests.webhooks.receiver import Receiver, wait_for


def _env(database_url: str, key_file: Path, tmp_path: Path, poll: str) -> dict[str, str]:
    return server_env(
        database_url,
        key_file,
        REGISTRY_CHECKPOINT_KEY_FILE=str(tmp_path / "checkpoint.pem"),
        REGISTRY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        REGISTRY_WEBHOOK_POLL_INTERVAL_SECONDS=poll,
        REGISTRY_WEBHOOK_BACKOFF_BASE_SECONDS="0.1",
    )


def _setup(srv: Server, receiver: Receiver) -> tuple[dict[str, str], dict[str, str], str]:
    """The holder bank subscribed to customer.listed; police who flag. Their headers and
    the webhook's secret."""
    bank = {
        "Authorization": "Bearer " + srv.token_for_new_org("VCB", "bank", "VCB", "webhooks:manage")
    }
    police = {
        "Authorization": "Bearer " + srv.token_for_new_org("C06", "police", None, "flags:write")
    }
    hook = httpx.post(
        f"{srv.url}/v1/webhooks",
        json={"url": receiver.url, "events": ["customer.listed"]},
        headers=bank,
    )
    assert hook.status_code == 201, hook.text
    return bank, police, str(hook.json()["secret"])


def _flag(srv: Server, police: dict[str, str], account: str) -> None:
    subject = {"kind": "bank_account", "institution": "970436", "identifier": account}
    body = {"subject": subject, "category": "TASK_SCAM", "case_reference": "C-1"}
    answer = httpx.post(f"{srv.url}/v1/flags", json=body, headers=police, timeout=10)
    assert answer.status_code == 201, answer.text


def test_a_message_survives_kill_9_after_the_2xx(
    database_url: str, key_file: Path, tmp_path: Path, receiver: Receiver
) -> None:
    # The first server's worker sleeps for a minute after its first (idle) round, so it is
    # certainly killed before it delivers.
    srv = Server(_env(database_url, key_file, tmp_path, poll="60"))
    srv.start(tmp_path)
    try:
        _, police, secret = _setup(srv, receiver)
        _flag(srv, police, "0071000123456")
        assert srv.process is not None
        srv.process.kill()  # SIGKILL: no shutdown of any kind
        srv.process.wait(timeout=10)
        time.sleep(0.5)
        assert receiver.received == []
        srv.env = _env(database_url, key_file, tmp_path, poll="0.1")
        srv.restart()
        wait_for(lambda: len(receiver.unique()) == 1, what="the message after the restart")
        message = receiver.verified(secret)[0]
        assert message["type"] == "customer.listed"
        assert message["data"]["key"] == "bank_account:970436:0071000123456"
    finally:
        srv.stop()


def test_two_servers_deliver_each_message_once(
    database_url: str, key_file: Path, tmp_path: Path, receiver: Receiver
) -> None:
    first = Server(_env(database_url, key_file, tmp_path, poll="0.05"))
    first.start(tmp_path)
    second = Server(_env(database_url, key_file, tmp_path, poll="0.05"))
    try:
        second.start(tmp_path)
        _, police, secret = _setup(first, receiver)
        accounts = [f"00710001234{n:02d}" for n in range(12)]
        for n, account in enumerate(accounts):
            _flag(first if n % 2 else second, police, account)
        wait_for(lambda: len(receiver.unique()) == len(accounts), what="every message")
        time.sleep(1.0)  # any duplicate would arrive by now
        counts = Counter(item.webhook_id for item in receiver.received)
        assert set(counts.values()) == {1}, counts  # no lease expired: no duplicate
        keys = [m["data"]["key"] for m in receiver.verified(secret)]
        assert keys == [f"bank_account:970436:{a}" for a in accounts]
    finally:
        second.stop()
        first.stop()
