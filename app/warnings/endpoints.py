from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from app.db.session import writing
from app.errors import AUTH_ERRORS, InvalidInput, problem_responses
from app.warnings.auth import Looker
from app.warnings.schemas import WarningOutcome, WarningRead
from app.warnings.service import OutcomeAlreadyRecorded, WarningNotFound, record_outcome

router = APIRouter(tags=["lookup"])

WarningId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.post(
    "/v1/warnings/{warning_id}/outcome",
    response_model=WarningRead,
    responses=problem_responses(
        *AUTH_ERRORS, InvalidInput, WarningNotFound, OutcomeAlreadyRecorded
    ),
)
async def warning_outcome(
    request: Request,
    warning_id: WarningId,
    body: WarningOutcome,
    actor: Looker,
) -> WarningRead:
    """Say what the customer did after a `warn`/`hold` answer: `cancelled` (a transfer
    stopped; its amount counts as VND protected) or `proceeded`. Only the organisation
    that received the warning may answer; repeating the same answer is harmless.
    `amount_vnd` is at most `REGISTRY_MAX_OUTCOME_VND` (default 100,000,000,000)."""
    max_amount = request.app.state.runtime.settings.max_outcome_vnd
    async with writing(request, actor) as uow:
        result = await record_outcome(uow, warning_id, body, max_amount_vnd=max_amount)
    return result
