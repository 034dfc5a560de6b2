"""Releasing and returning a hold's money (SPEC §10), through the recovery ledger.

A release gives money back to the account holder (the holder, or police, any time money is
held: held, lapsed or confirmed); a return pays it to the victim (the holder, only once
police confirmed). Each writes its ledger entry through the recovery service, in the same
unit of work, so both rules hold at once: never beyond what the hold still holds
(``held_vnd`` less what it released and returned; 422 here), and never beyond what its case
holds in the ledger (the recovery service's own 422). When nothing is held any more the
hold is ``closed``.
"""

from __future__ import annotations

from app.audit.vocabulary import Action
from app.db.unit_of_work import UnitOfWork
from app.holds import policy
from app.holds.repository import HoldRow
from app.holds.service import acting_on, expect, ledger, record_transition, refuse, remaining

MONEY_HELD = ("held", "lapsed", "confirmed")


async def _take_out(uow: UnitOfWork, row: HoldRow, action: Action, amount: int) -> HoldRow:
    hold = row[0]
    left = remaining(hold)
    if amount > left:
        raise refuse("amount_vnd", f"cannot {action} {amount} VND: the hold holds {left} VND")
    if action is Action.RELEASE:
        hold.released_vnd += amount
    else:
        hold.returned_vnd += amount
    if remaining(hold) == 0:
        hold.status = "closed"
    await record_transition(uow, row, action)
    await ledger(uow, row, action.value, amount)
    return row


async def release_hold(uow: UnitOfWork, hold_id: str, amount: int, if_match: str | None) -> HoldRow:
    """Give held money back to the account holder."""
    actor = uow.actor
    row = await acting_on(uow, hold_id, lambda r: policy.may_release(actor, r[1]), if_match)
    expect(row[0], *MONEY_HELD)
    return await _take_out(uow, row, Action.RELEASE, amount)


async def return_hold(uow: UnitOfWork, hold_id: str, amount: int, if_match: str | None) -> HoldRow:
    """Pay confirmed held money to the victim."""
    actor = uow.actor
    row = await acting_on(uow, hold_id, lambda r: policy.may_return(actor, r[1]), if_match)
    expect(row[0], "confirmed")
    return await _take_out(uow, row, Action.RETURN, amount)
