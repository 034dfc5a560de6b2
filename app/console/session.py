"""Console sessions (SPEC §12): kept server-side, the cookie holds a random token only.

- Cookie ``__Host-registry-session``: ``Secure``, ``HttpOnly``, ``SameSite=Strict``,
  ``Path=/``, no ``Domain``; a new token at every login (no fixation), and the row is
  ended at logout, when the user is disabled, after the idle timeout and the absolute one.
- CSRF: every state-changing form carries the session's synchroniser token; the login form,
  before any session exists, a double-submit token bound to its own ``__Host-`` cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response

from app.auth.actor import Actor
from app.config import Settings
from app.console.cookies import clear_cookie, set_cookie
from app.db.engine import Database
from app.db.types import utcnow
from app.db.unit_of_work import unchained_write
from app.errors import AppError
from app.models import ConsoleSession, Organisation, StaffUser
from app.request_context import request_id_var
from app.users.credentials import new_token, token_digest
from app.users.repository import SessionRepository, UserRepository
from app.users.roles import role_scopes
from app.users.schemas import UserStatus
from app.users.service import user_actor

SESSION_COOKIE = "__Host-registry-session"
LOGIN_COOKIE = "__Host-registry-login"
# Rewriting last_seen_at on every request would make every page a write.
TOUCH_EVERY = timedelta(seconds=30)


class CsrfRefused(AppError):
    status = 403
    type_slug = "csrf-refused"
    title = "The form's security token is missing or wrong"
    description = (
        "Every change made in the console carries a token tied to the session; this one did"
        " not, so it may have been sent by another site."
    )
    remedy = "Reload the page and submit the form again."


@dataclass(frozen=True)
class Staff:
    """The signed-in user of one request."""

    user: StaffUser
    org: Organisation
    csrf_token: str
    actor: Actor

    def may(self, scope: str) -> bool:
        return scope in self.actor.scopes


def _expired(row: ConsoleSession, settings: Settings, now: datetime) -> bool:
    idle = timedelta(minutes=settings.console_idle_minutes)
    absolute = timedelta(hours=settings.console_absolute_hours)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


async def current_staff(request: Request, db: Database, settings: Settings) -> Staff | None:
    """The request's signed-in user, or None (no, unknown, ended or expired session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    now = utcnow()
    async with unchained_write(db) as session:
        row = await SessionRepository(session).by_id(token_digest(token))
        if row is None or row.ended_at is not None:
            return None
        if _expired(row, settings, now):
            row.ended_at = now
            return None
        found = await UserRepository(session).by_id(row.user_id)
        if found is None:
            return None
        user, org = found
        if user.status != UserStatus.ACTIVE or not org.active:
            row.ended_at = now
            return None
        if role_scopes(org.kind, user.role) is None:
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        actor = user_actor(user, org, request_id_var.get())
        return Staff(user, org, row.csrf_token, actor)


async def start_session(db: Database, user_id: str, response: Response) -> None:
    """A new session (and so a new token) for ``user_id``; sets the cookie."""
    token = new_token()
    now = utcnow()
    async with unchained_write(db) as session:
        await SessionRepository(session).add(
            ConsoleSession(
                id=token_digest(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                ended_at=None,
            )
        )
    set_cookie(response, SESSION_COOKIE, token)
    clear_cookie(response, LOGIN_COOKIE)


async def end_session(db: Database, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) <= 100:
        async with unchained_write(db) as session:
            row = await SessionRepository(session).by_id(token_digest(token))
            if row is not None and row.ended_at is None:
                row.ended_at = utcnow()
    clear_cookie(response, SESSION_COOKIE)


def check_csrf(staff: Staff, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), staff.csrf_token.encode()):
        raise CsrfRefused("the form's security token does not match this session")


def login_csrf(request: Request) -> str:
    """The login form's token: the one in its cookie, or a new one the page will set."""
    current = request.cookies.get(LOGIN_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current
    return secrets.token_urlsafe(32)


def set_login_csrf(response: Response, value: str) -> None:
    set_cookie(response, LOGIN_COOKIE, value, 3600)


def check_login_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise CsrfRefused("the sign-in form's security token does not match; reload it")
