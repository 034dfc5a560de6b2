"""The SSRF rules, unit by unit, and the checks made again at delivery time."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from app.config import Settings
from app.db.engine import create_database
from app.db.types import utcnow
from app.models import Notification, WebhookSubscription
from app.webhooks.sender import new_client
from app.webhooks.targets import AllowedHosts, TargetRefused, check_target, not_public
from app.webhooks.worker import DeliveryWorker
from tests.webhooks.receiver import Receiver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",
        "0.0.0.0",  # noqa: S104 (an address under test)
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not_public(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert not_public(ipaddress.ip_address(address)) is None


async def test_allowed_hosts_and_the_connected_address() -> None:
    allowed = AllowedHosts.parse(" hooks.bank.internal , 10.20.0.0/16,fd00::/8 ")
    assert allowed.lists_name("hooks.bank.internal")
    target = await check_target("http://10.20.3.4:8080/in?x=1", allowed)
    assert target.connect_url(target.addresses[0]) == "http://10.20.3.4:8080/in?x=1"
    assert target.host_header == "10.20.3.4:8080"
    v6 = await check_target("https://[fd00::5]/h", allowed)
    assert v6.connect_url(v6.addresses[0]) == "https://[fd00::5]:443/h"
    with pytest.raises(TargetRefused):
        await check_target("http://10.21.0.1/", allowed)
    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_target("https://no-such-host.invalid/", allowed)


async def test_delivery_checks_the_target_again(settings: Settings, receiver: Receiver) -> None:
    """Allowed when subscribed, no longer allowed when sent (or a name that now resolves
    elsewhere): the attempt is refused before any connection, and retried later."""
    refusing = settings.model_copy(update={"webhook_allowed_hosts": ""})
    worker = DeliveryWorker(create_database(refusing), refusing)
    now = utcnow()
    sub = WebhookSubscription(id="s", organisation_id=1, url=receiver.url, secret="whsec_AAAA")
    sub.previous_secret, sub.previous_secret_until = None, now - timedelta(days=1)
    message = Notification(id=7, type="ping", data={}, created_at=now)
    async with new_client(1, 1) as client:
        outcome = await worker.attempt(client, sub, message)
    await worker.db.dispose()
    assert outcome.status_code is None and outcome.error is not None
    assert outcome.error.startswith("target refused: ")
    assert receiver.answered == []


async def test_a_name_is_sent_to_its_checked_address_with_its_host(
    settings: Settings, receiver: Receiver
) -> None:
    allowing = settings.model_copy(update={"webhook_allowed_hosts": "localhost"})
    worker = DeliveryWorker(create_database(allowing), allowing)
    url = receiver.url.replace("127.0.0.1", "localhost")
    sub = WebhookSubscription(id="s", organisation_id=1, url=url, secret="whsec_AAAA")
    message = Notification(id=8, type="ping", data={"a": 1}, created_at=utcnow())
    async with new_client(1, 1) as client:
        outcome = await worker.attempt(client, sub, message)
    await worker.db.dispose()
    assert outcome.delivered, outcome
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
    assert receiver.received[0].headers["webhook-id"] == "msg_8"
