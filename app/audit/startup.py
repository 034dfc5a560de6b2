"""The whole state checked against the chain once the server is up (SPEC §8).

``RegistryMirror.load`` checks the subjects that drive lookups before the first answer;
this checks every state table and the warning seals, in the background so that start-up
stays fast. A mismatch stops lookups (503, and ``/readyz`` says why) and writes (503): a
registry whose rows disagree with its chain must neither answer from them nor write the
forged state into the chain as the next honest change.
"""

from __future__ import annotations

import logging

from app.audit.verify import verify_chain
from app.runtime import Runtime

log = logging.getLogger(__name__)


async def verify_state_at_start(runtime: Runtime) -> None:
    try:
        async with runtime.db.read_session() as session:
            result = await verify_chain(session)
    except Exception:  # a database fault: the next restart or `registry audit verify` tells
        log.warning("could not verify the state at start", exc_info=True)
        return
    if result.ok:
        log.info("state verified against the chain up to seq %d", result.head_seq)
        return
    if result.first_state_mismatch is not None:
        bad = result.first_state_mismatch
        reason = f"{bad.entity_type} {bad.entity_id} disagrees with the chain (seq {bad.seq})"
    else:
        reason = f"the chain does not verify at seq {result.first_bad_seq}: {result.reason}"
    if runtime.mirror.state_error is None:  # the index check's reason, if any, came first
        runtime.mirror.state_error = "state does not match the audit chain: " + reason
    log.error("not answering lookups nor writing: %s", reason)
