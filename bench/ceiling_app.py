"""The framework's own ceiling: a minimal FastAPI app with one POST route.

The route validates a small pydantic body (the lookup's shape) and returns a small JSON
object: no auth, no middleware, no index. Served exactly like ``registry serve``
(``uvicorn.run`` with the same arguments as ``app/cli.py``: one worker, the default "auto"
loop and HTTP implementation, which resolve to uvloop and httptools when installed, no
server header, access log off, the registry's own logging config)::

    .venv/bin/python -m bench.ceiling_app --port 8790
"""

from __future__ import annotations

import argparse
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["bank_account", "ewallet", "phone"]
    institution: str | None = Field(default=None, max_length=64)
    identifier: str = Field(min_length=1, max_length=64)


app = FastAPI()


@app.post("/v1/lookup")
async def lookup(body: Probe) -> dict[str, object]:
    return {"key": f"{body.kind}:{body.institution or ''}:{body.identifier}", "listed": False}


def main() -> None:
    import uvicorn

    from app.logging_config import logging_config

    parser = argparse.ArgumentParser(description="serve the ceiling app like `registry serve`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    # Same arguments as app/cli.py serve(), except the app itself.
    uvicorn.run(
        "bench.ceiling_app:app",
        host=args.host,
        port=args.port,
        workers=1,
        server_header=False,
        access_log=False,
        log_config=logging_config(args.log_level),
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
