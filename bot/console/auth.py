"""Who is signed in to the console, and whether a form really comes from our own page.

Every console page depends on :func:`current_user` (or :func:`require_roles`), and every POST handler on
:func:`checked_form`::

    @router.post("/console/tips/{ref}/note")
    async def note(request: Request, user: ConsoleUser = Depends(require_roles("officer", "supervisor")),
                   form: FormData = Depends(checked_form)) -> Response: ...

Sessions are server-side (:mod:`storage.users_sessions`); the cookie ``hotline_console`` carries only a
random id and is HttpOnly, SameSite=Strict, Path=/console, and Secure unless ``console.cookie_secure`` is
false (plain-HTTP localhost). A refusal is raised as :class:`ConsoleDenied`, which carries the finished
response: a 303 to the sign-in page for a page view, a 401/403 page otherwise.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.clientaddr import client_addr_of
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from bot.settings import Settings
from storage.users import UserRow
from storage.users_sessions import FULL, LoginLimits, Session, SessionPolicy, session_for
from storage.workflow import Viewer

COOKIE = "hotline_console"
COOKIE_PATH = "/console"
LOGIN_PATH = "/console/login"
ENROL_PATH = "/console/account/totp"


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in account, as pages need it."""

    id: int
    email: str
    role: str
    unit_id: str | None
    totp_enabled: bool

    @property
    def viewer(self) -> Viewer:
        """The workflow's view of this account (what tips it may see; "officer:<id>" in the audit log)."""
        return Viewer.officer(self.id, self.role, self.unit_id)

    @property
    def actor(self) -> str:
        return f"officer:{self.id}"

    @classmethod
    def from_row(cls, row: UserRow) -> ConsoleUser:
        return cls(id=row.id, email=row.email, role=row.role, unit_id=row.unit_id, totp_enabled=row.totp_enabled)


class ConsoleDenied(StarletteHTTPException):
    """A refused console request; ``response`` is what the client gets (the app's HTTP-error handler
    answers with it; without that handler the status and headers, e.g. a redirect's Location, still hold)."""

    def __init__(self, response: Response) -> None:
        location = response.headers.get("location")
        super().__init__(response.status_code, detail="sign in to the console" if response.status_code in (
            303, 401) else "not allowed", headers={"Location": location} if location else None)
        self.response = response


# ----- settings → policies ----------------------------------------------------------------------------------
def session_policy(settings: Settings) -> SessionPolicy:
    c = settings.console
    return SessionPolicy(idle=timedelta(minutes=c.session_idle_minutes), max_age=timedelta(hours=c.session_max_hours))


def login_limits(settings: Settings) -> LoginLimits:
    c = settings.console
    return LoginLimits(max_failures=c.login_max_failures, lock=timedelta(minutes=c.login_lock_minutes),
                       address_per_hour=c.login_ip_per_hour)


def must_enrol(settings: Settings, role: str, totp_enabled: bool, totp_required: bool) -> bool:
    """The account may do nothing before setting up TOTP (its role requires it, or an admin did)."""
    return not totp_enabled and (role in settings.console.require_totp or totp_required)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def now_utc() -> datetime:
    return datetime.now(UTC)


def client_addr(request: Request) -> str:
    return client_addr_of(request.scope)


# ----- cookies and redirects --------------------------------------------------------------------------------
def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    # No Max-Age: the cookie goes with the browser session; the server enforces idle and absolute limits.
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=settings.console.cookie_secure)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=settings.console.cookie_secure)


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a console path on this site; None for anything that could lead elsewhere
    (``//evil.example``, ``/\\evil``, ``https://…``, control characters, paths outside /console)."""
    if not value or len(value) > 2000 or any(ord(ch) < 0x21 or ch == "\\" for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return None
    if not (parts.path == "/console" or parts.path.startswith("/console/")) or parts.path.startswith(LOGIN_PATH):
        return None
    return value


def landing(role: str) -> str:
    return {"admin": "/console/users", "reporter": "/console/agency"}.get(role, "/console/queue")


def destination(role: str, next_path: str | None) -> str:
    """Where a sign-in ends: ``next`` when it is safe, else the role's start page. The console's home page
    itself (where a bare ``/console`` sends everyone) counts as no ``next``, so an admin lands on accounts."""
    target = safe_next(next_path)
    return landing(role) if target in (None, "/console", "/console/queue") else str(target)


def login_url(next_path: str | None) -> str:
    target = safe_next(next_path)
    return LOGIN_PATH + (f"?next={quote(target, safe='')}" if target else "")


@lru_cache(maxsize=8)
def _renderer(title: str, police_name: str) -> Renderer:
    # The same templates and strings as every page; one per site title (in practice one per process).
    return Renderer(title=title, police_name=police_name)


def renderer_for(request: Request) -> Renderer:
    settings = runtime_of(request).settings
    return _renderer(settings.webchat.title, settings.province.police_name)


def error_page(request: Request, status: int, heading: str, message: str) -> Response:
    """A 401/403/429 page in the console's layout (the strings are Vietnamese, translated by the template)."""
    return renderer_for(request).render(request, "login_error.html", {"heading": heading, "message": message},
                                        status=status)


def _not_signed_in(request: Request) -> ConsoleDenied:
    response: Response
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(login_url(target), status_code=303, headers=page_headers())
    else:
        response = error_page(request, 401, "Cần đăng nhập",
                              "Phiên làm việc đã hết hạn hoặc bạn chưa đăng nhập. Hãy đăng nhập lại.")
    # A cookie of a half-done sign-in (TOTP step) is left alone: the code page still wants it.
    return ConsoleDenied(response)


# ----- dependencies -----------------------------------------------------------------------------------------
async def signed_in_session(request: Request) -> Session | None:
    """The request's full session (touched), or None. Sets request.state.user / csrf / session_token."""
    runtime = runtime_of(request)
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    session = await runtime.db.run(session_for, token=token, now=now_utc(), policy=session_policy(runtime.settings),
                                   stage=FULL)
    if session is not None:
        request.state.user = ConsoleUser.from_row(session.user)
        request.state.csrf = session.csrf
        request.state.session_token = token
        request.state.must_enrol = must_enrol(runtime.settings, session.user.role, session.user.totp_enabled,
                                              session.user.totp_required)
    return session


async def enrolling_user(request: Request) -> ConsoleUser:
    """Like :func:`current_user`, but lets an account that must set up TOTP through (the enrolment page)."""
    session = await signed_in_session(request)
    if session is None:
        raise _not_signed_in(request)
    user: ConsoleUser = request.state.user
    return user


async def current_user(request: Request) -> ConsoleUser:
    """The signed-in account, for every console page.

    Not signed in (or the session ran out): a GET/HEAD is sent (303) to ``/console/login?next=<this page>``,
    anything else gets a 401 page. An account that must set up TOTP first is sent to the enrolment page
    (403 for a non-GET). Sets ``request.state.user`` and ``request.state.csrf`` (what templates put in every
    form's ``csrf`` field), and restarts the session's idle clock.
    """
    user = await enrolling_user(request)
    if request.state.must_enrol and request.url.path != ENROL_PATH:
        if request.method in ("GET", "HEAD"):
            raise ConsoleDenied(RedirectResponse(ENROL_PATH, status_code=303, headers=page_headers()))
        raise ConsoleDenied(error_page(request, 403, "Cần bật xác thực hai lớp",
                                       "Tài khoản của bạn phải bật xác thực hai lớp (TOTP) trước khi làm việc."))
    return user


def require_roles(*roles: str) -> Callable[..., Awaitable[ConsoleUser]]:
    """A dependency like :func:`current_user` that also answers 403 to accounts of any other role."""
    allowed = frozenset(roles)

    async def dependency(request: Request, user: Annotated[ConsoleUser, Depends(current_user)]) -> ConsoleUser:
        if user.role not in allowed:
            raise ConsoleDenied(error_page(request, 403, "Không có quyền",
                                           "Tài khoản của bạn không được mở trang này."))
        return user

    dependency.__name__ = f"require_roles_{'_'.join(sorted(allowed))}"
    return dependency


def cross_site(request: Request) -> bool:
    """A request another site's page made: an ``Origin`` that is not ours, or ``Sec-Fetch-Site: cross-site``.

    SameSite=Strict already keeps our cookie off such requests; this refuses them even where a browser or
    an extension gets that wrong. Requests without the headers (curl, old browsers) are judged by the token.
    """
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() != host.lower()


def token_matches(sent: Any, expected: str) -> bool:
    return isinstance(sent, str) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def forged(request: Request) -> ConsoleDenied:
    return ConsoleDenied(error_page(request, 403, "Yêu cầu bị từ chối", "Biểu mẫu đã cũ hoặc không gửi từ trang "
                                    "của chúng tôi. Hãy tải lại trang và thử lại."))


async def checked_form(request: Request,
                       user: Annotated[ConsoleUser, Depends(current_user)]) -> AsyncIterator[FormData]:
    """The POSTed form (urlencoded or multipart) of a signed-in user, once its ``csrf`` field matched the
    session's token (constant-time) and the request is not cross-site; otherwise a 403 page. Uploaded files
    in it are closed after the response."""
    if cross_site(request):
        raise forged(request)
    form = await request.form()
    try:
        if not token_matches(form.get("csrf"), getattr(request.state, "csrf", "")):
            raise forged(request)
        yield form
    finally:
        await form.close()


# For handler signatures: ``async def page(request: Request, user: CurrentUser, form: CheckedForm)``.
CurrentUser = Annotated[ConsoleUser, Depends(current_user)]
EnrollingUser = Annotated[ConsoleUser, Depends(enrolling_user)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
# A row id in a path: what does not fit a database integer is a 422, not an OverflowError from the driver.
RowId = Annotated[int, Path(ge=0, le=2**63 - 1)]
_ASCII_DIGITS = frozenset("0123456789")


def small_int(text: object, *, limit: int = 2**63 - 1) -> int | None:
    """A form or query value as a non-negative int no larger than ``limit``, else None.

    Not ``str.isdigit``: it accepts "²" (which ``int`` refuses) and numbers no database integer holds.
    """
    if not isinstance(text, str) or not 0 < len(text) <= 19 or not set(text) <= _ASCII_DIGITS:
        return None
    value = int(text)
    return value if value <= limit else None
