"""The hold story (SPEC §10, §11), black-box against a real ``registry serve``: the victim's
bank asks the holder to hold 10 M VND, 8 M is held and frozen, police confirm, the holder
returns it and the hold closes; ledger and report agree. A second hold lapses unconfirmed
(the server's own lapse loop), and requester and holder each receive every message once,
signed, by webhook and in their inbox."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from standardwebhooks import WebhookVerificationError

from app.db.types import utcnow
from app.holds.deadlines import VIETNAM
from app.models import Hold
from tests.blackbox.server import Server, serving
from tests.webhooks.receiver import Receiver, wait_for

# Both accounts are at VCB (BIN 970436), the holder; ACB's customer is the victim.
ACCOUNT = {"kind": "bank_account", "institution": "970436", "identifier": "0071000123456"}
KEY = "bank_account:970436:0071000123456"
LAPSING = {"kind": "bank_account", "institution": "970436", "identifier": "0071000999888"}
ORGS = {
    "ACB": ("bank", "ACB", "holds:write webhooks:manage"),
    "VCB": ("bank", "VCB", "holds:respond webhooks:manage"),
    "C06": ("police", None, "holds:confirm history:read reports:read"),
}
Headers = dict[str, str]
Json = dict[str, Any]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def server(database_url: str, key_file: Path, tmp_path: Path) -> Iterator[Server]:
    fast = {
        "REGISTRY_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "REGISTRY_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
        "REGISTRY_WEBHOOK_BACKOFF_BASE_SECONDS": "0.1",
        "REGISTRY_EXPIRY_INTERVAL_SECONDS": "0.2",  # the lapse loop's interval too
    }
    with serving(database_url, key_file, tmp_path, **fast) as srv:
        yield srv


def callers(srv: Server) -> dict[str, Headers]:
    return {
        code: {"Authorization": f"Bearer {srv.token_for_new_org(code, *org)}"}
        for code, org in ORGS.items()
    }


def subscribe(http: httpx.Client, who: dict[str, Headers], receiver: Receiver) -> dict[str, Json]:
    """Requester and holder each subscribe a URL of their own to the hold events."""
    hooks = {}
    for code in ("ACB", "VCB"):
        url = f"http://127.0.0.1:{receiver.port}/{code}"
        body = {"url": url, "events": ["hold.requested", "hold.updated"]}
        hook = http.post("/v1/webhooks", json=body, headers=who[code])
        assert hook.status_code == 201, hook.text
        assert hook.json()["secret"].startswith("whsec_")
        hooks[code] = hook.json()
    return hooks


def request_hold(http: httpx.Client, who: Headers, subject: Json, key: str) -> Json:
    body = {"subject": subject, "amount_vnd": 10_000_000, "reason": "fake police call"}
    body |= {"case_reference": "HCM-2026-0042", "transfer_reference": "FT26340000123"}
    headers = who | {"Idempotency-Key": key}
    made = http.post("/v1/holds", json=body, headers=headers)
    assert made.status_code == 201, made.text
    again = http.post("/v1/holds", json=body, headers=headers)  # a retry: no second hold
    assert again.status_code == 201 and again.json()["id"] == made.json()["id"]
    hold: Json = made.json()
    assert (hold["status"], hold["holder"], hold["requested_by"]) == ("requested", "VCB", "ACB")
    assert (hold["amount_vnd"], hold["held_vnd"], hold["version"]) == (10_000_000, 0, 1)
    created = datetime.fromisoformat(hold["created_at"])
    assert datetime.fromisoformat(hold["respond_by"]) - created == timedelta(hours=24)
    assert datetime.fromisoformat(hold["confirm_by"]) - created >= timedelta(days=3)
    return hold


def act(
    http: httpx.Client, who: Headers, hold: Json, verb: str, body: Json, status: int = 200
) -> Json:
    answer = http.post(
        f"/v1/holds/{hold['id']}/{verb}",
        json=body,
        headers=who | {"If-Match": f'"{hold["version"]}"'},
    )
    assert answer.status_code == status, answer.text
    result: Json = answer.json()
    if status == 200:
        assert answer.headers["etag"] == f'"{result["version"]}"' == f'"{hold["version"] + 1}"'
    return result


def ledger(http: httpx.Client, police: Headers) -> Json:
    answer = http.get(f"/v1/subjects/{quote(KEY, safe='')}/recoveries", headers=police)
    assert answer.status_code == 200, answer.text
    body: Json = answer.json()
    return body


def report_totals(srv: Server, http: httpx.Client, police: Headers, hold: Json, out: Path) -> Json:
    """The money figures of the report of the period the hold was made in, over HTTP; the
    same from `registry report`."""
    made = datetime.fromisoformat(hold["created_at"]).astimezone(VIETNAM)
    period = f"{made.year}-H{1 if made.month <= 6 else 2}"
    answer = http.get(f"/v1/reports/{period}", params={"format": "json"}, headers=police)
    assert answer.status_code == 200, answer.text
    srv.cli("report", period, "--format", "json", "-o", str(out))
    exported = json.loads(out.read_bytes())
    assert exported["period"] == answer.json()["period"] == period
    # (a period not yet ended snapshots its risk figures at the moment of asking)
    money = ("recovery", "holds")
    totals: Json = {part: answer.json()["totals"][part] for part in money}
    assert {part: exported["totals"][part] for part in money} == totals
    return totals


def move_confirm_by_into_the_past(database_url: str, hold_id: str) -> None:
    """Police have whole working days to confirm (REGISTRY_HOLD_CONFIRM_WORKING_DAYS >= 1):
    the test moves the deadline instead of waiting for it, as tests/holds do."""

    async def edit() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                past = utcnow() - timedelta(seconds=1)
                await conn.execute(update(Hold).where(Hold.id == hold_id).values(confirm_by=past))
        finally:
            await engine.dispose()

    asyncio.run(edit())


def test_hold_story(server: Server, receiver: Receiver, database_url: str, tmp_path: Path) -> None:
    who = callers(server)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        hooks = subscribe(http, who, receiver)
        hold = hold_confirm_and_return(http, who)
        assert_money_agrees(server, http, who["C06"], hold, tmp_path / "report.json")
        lapsed = lapse_a_hold(http, who, database_url)

        # (hold, action, the hold's status in the message)
        one = [("requested",) * 2, ("held",) * 2, ("confirmed",) * 2, ("return", "closed")]
        story = [(hold["id"], action, status) for action, status in one]
        story += [(lapsed["id"], a, a) for a in ("requested", "held", "lapsed")]
        for code, other in (("ACB", "VCB"), ("VCB", "ACB")):
            assert_notified(http, receiver, who[code], hooks[code], code, story)
            with pytest.raises(WebhookVerificationError):  # not signed with the other's secret
                receiver.verified(hooks[other]["secret"], f"/{code}")


def hold_confirm_and_return(http: httpx.Client, who: dict[str, Headers]) -> Json:
    """Steps 1-4: 10 M requested, 8 M held (and frozen), confirmed in time, returned."""
    hold = request_hold(http, who["ACB"], ACCOUNT, "hold-1")
    hold = act(http, who["VCB"], hold, "respond", {"outcome": "held", "held_vnd": 8_000_000})
    assert (hold["status"], hold["outcome"], hold["held_vnd"]) == ("held", "held", 8_000_000)
    assert hold["remaining_vnd"] == 8_000_000
    entries = ledger(http, who["C06"])["entries"]
    assert [(e["action"], e["amount_vnd"], e["case_reference"]) for e in entries] == [
        ("freeze", 8_000_000, "HCM-2026-0042")
    ]
    assert entries[0]["organisation"] == "VCB"
    hold = act(http, who["C06"], hold, "confirm", {"case_reference": "HCM-2026-0042"})
    assert (hold["status"], hold["confirmed_by"]) == ("confirmed", "C06")
    assert datetime.fromisoformat(hold["confirmed_at"]) < datetime.fromisoformat(hold["confirm_by"])
    hold = act(http, who["VCB"], hold, "return", {"amount_vnd": 8_000_000})
    assert (hold["status"], hold["returned_vnd"], hold["released_vnd"]) == ("closed", 8_000_000, 0)
    assert hold["remaining_vnd"] == 0
    read = http.get(f"/v1/holds/{hold['id']}", headers=who["ACB"])
    assert read.status_code == 200 and read.json() == hold
    return hold


def assert_money_agrees(
    srv: Server, http: httpx.Client, police: Headers, hold: Json, out: Path
) -> None:
    """Step 5: the account's ledger and the report agree: 8 M frozen, 8 M returned."""
    money = ledger(http, police)
    assert [(e["action"], e["amount_vnd"]) for e in money["entries"]] == [
        ("freeze", 8_000_000),
        ("return", 8_000_000),
    ]
    assert money["totals"] == {
        "frozen_vnd": 8_000_000,
        "released_vnd": 0,
        "returned_vnd": 8_000_000,
        "held_vnd": 0,
    }
    totals = report_totals(srv, http, police, hold, out)
    assert totals["recovery"] == {
        "frozen_vnd": 8_000_000,
        "released_vnd": 0,
        "returned_vnd": 8_000_000,
        "entries": 2,
    }
    figures = dict(totals["holds"])
    assert 0 <= figures.pop("median_hours_to_respond") < 1
    assert figures == {
        "requested": 1,
        "held": 1,
        "declined": 0,
        "confirmed": 1,
        "lapsed": 0,
        "held_vnd": 8_000_000,
        "returned_vnd": 8_000_000,
    }


def lapse_a_hold(http: httpx.Client, who: dict[str, Headers], database_url: str) -> Json:
    """Held, not confirmed by confirm_by: the server's lapse loop lapses it; police are too
    late; the money stays held until released."""
    hold = request_hold(http, who["ACB"], LAPSING, "hold-2")
    hold = act(http, who["VCB"], hold, "respond", {"outcome": "held", "held_vnd": 3_000_000})
    move_confirm_by_into_the_past(database_url, hold["id"])

    def read() -> Json:
        answer = http.get(f"/v1/holds/{hold['id']}", headers=who["VCB"])
        assert answer.status_code == 200, answer.text
        body: Json = answer.json()
        return body

    wait_for(lambda: read()["status"] == "lapsed", what="the server to lapse the hold")
    lapsed = read()
    assert (lapsed["version"], lapsed["held_vnd"], lapsed["remaining_vnd"]) == (
        3,
        3_000_000,
        3_000_000,
    )
    late = act(http, who["C06"], lapsed, "confirm", {"case_reference": "HCM-2026-0042"}, 409)
    assert late["detail"] == "hold is lapsed; this needs held"
    return lapsed


def assert_notified(
    http: httpx.Client,
    receiver: Receiver,
    who: Headers,
    hook: Json,
    code: str,
    story: list[tuple[str, str, str]],
) -> None:
    """Each message of the story once, in order, signed with this organisation's secret;
    the inbox holds the same messages under the same webhook-ids."""
    path = f"/{code}"
    wait_for(lambda: len(receiver.unique(path)) >= len(story), what=f"{code}'s webhooks")

    def deliveries() -> list[Json]:
        page = http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=who)
        assert page.status_code == 200, page.text
        items: list[Json] = page.json()["items"]
        return items

    wait_for(lambda: len(deliveries()) >= len(story), what=f"{code}'s deliveries recorded")
    attempts = deliveries()
    assert [(d["status"], d["attempt"], d["status_code"]) for d in attempts] == [
        ("delivered", 1, 204)
    ] * len(story)
    arrived = [item for item in receiver.received if item.path == path]
    assert Counter(item.webhook_id for item in arrived) == Counter(
        d["webhook_id"] for d in attempts
    )
    assert set(Counter(item.webhook_id for item in arrived).values()) == {1}
    assert all(item.webhook_id.startswith("msg_") for item in arrived)

    messages = receiver.verified(hook["secret"], path)
    told = [
        (m["data"]["hold"]["id"], m["data"]["action"], m["data"]["hold"]["status"])
        for m in messages
    ]
    assert told == story
    assert [m["type"] for m in messages] == [
        "hold.requested" if action == "requested" else "hold.updated" for _, action, _ in story
    ]

    inbox = http.get("/v1/notifications", headers=who)
    assert inbox.status_code == 200, inbox.text
    items = inbox.json()["items"]
    assert [i["webhook_id"] for i in items] == [item.webhook_id for item in receiver.unique(path)]
    assert [(i["type"], i["data"]) for i in items] == [(m["type"], m["data"]) for m in messages]
