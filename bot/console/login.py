"""Sign-in, the TOTP step, sign-out (here or everywhere). TOTP enrolment (:mod:`bot.console.login_enrol`) and
the admins' account pages (:mod:`bot.console.users_pages`) are mounted from here.

A sign-in takes two steps when the account has TOTP: the right password gives a short *pending* session
(a new id) that only the code page accepts; the right code replaces it with a full session (another new
id). Wrong passwords and wrong codes count against the e-mail typed and the client address alike
(:mod:`storage.users_sessions`); the answers never say whether an e-mail has an account.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from bot.console import auth, login_enrol, users_pages
from bot.console.auth import CheckedForm, ConsoleUser, CurrentUser
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from storage import audit, users
from storage import users_sessions as sessions

LOGIN_CSRF_COOKIE = "hotline_console_login"  # double-submit token of the sign-in form (no session yet)
BAD_CREDENTIALS = "Sai e-mail hoặc mật khẩu."
BAD_CODE = "Mã không đúng hoặc đã dùng. Hãy chờ mã mới và thử lại."
LOCKED = "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút."
ADDRESS_LIMITED = "Quá nhiều lần đăng nhập sai từ địa chỉ này. Hãy thử lại sau."


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    settings = runtime.settings
    db, cipher = runtime.db, runtime.cipher
    policy, limits = auth.session_policy(settings), auth.login_limits(settings)
    lock_minutes = settings.console.login_lock_minutes
    router = APIRouter(include_in_schema=False)
    # argon2id costs ~64 MiB and tens of milliseconds a try: a flood of sign-ins waits here instead of
    # taking every core and all memory (the per-address limit refuses most floods before they hash at all).
    hashing = asyncio.Semaphore(2)

    async def slow(fn: Any, *args: Any) -> Any:
        async with hashing:
            return await asyncio.to_thread(fn, *args)

    def keys(email: str, request: Request) -> tuple[str, str]:
        # Keyed hashes: the table of failures names neither the e-mails typed nor the addresses.
        return (cipher.blind_index(email.strip().lower(), purpose="console.login.account"),
                cipher.blind_index(auth.client_addr(request), purpose="console.login.address"))

    def login_page(request: Request, *, status: int = 200, error: str | None = None, email: str = "",
                   next_path: str | None = None, notice: str | None = None, reload: bool = False) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        target = auth.safe_next(next_path)
        reload_url = auth.LOGIN_PATH + "?again=1" + (f"&next={quote(target, safe='')}" if target else "")
        response = renderer.render(request, "login.html", {
            "login_csrf": token, "next": target or "", "email": email[:254], "error": error, "notice": notice,
            "minutes": lock_minutes, "reload_url": reload_url if reload else None}, status=status)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, path=auth.LOGIN_PATH, httponly=True, samesite="strict",
                            secure=settings.console.cookie_secure, max_age=3600)
        return response

    def where_after(role: str, totp_enabled: bool, totp_required: bool, next_path: str | None) -> str:
        if auth.must_enrol(settings, role, totp_enabled, totp_required):
            return auth.ENROL_PATH
        return auth.destination(role, next_path)

    async def form_of(request: Request, expected: str) -> FormData:
        if auth.cross_site(request):
            raise auth.forged(request)
        # Sign-in forms carry no files: one sent anyway is a 400, and no temporary file is left open.
        form = await request.form(max_files=0)
        if not auth.token_matches(form.get("csrf"), expected):
            raise auth.forged(request)
        return form

    async def finish(request: Request, user: users.UserRow, *, replaces: str, account_key: str,
                     new_hash: str | None, old_hash: str, next_path: str | None, how: str) -> Response:
        now, ip = auth.now_utc(), auth.client_addr(request)

        def work(conn: Any) -> tuple[str, str]:
            sessions.login_succeeded(conn, account_key=account_key)
            users.signed_in(conn, user_id=user.id, now=now, new_hash=new_hash, old_hash=old_hash)
            audit.record(conn, actor=f"officer:{user.id}", action="login.success", subject=users.subject(user.id),
                         now=now, detail=f"{how} from {ip}")
            return sessions.new_session(conn, user_id=user.id, stage=sessions.FULL, now=now, policy=policy,
                                        replaces=replaces)

        token, _csrf = await db.run(work)
        response = _redirect(where_after(user.role, user.totp_enabled, user.totp_required, next_path))
        auth.set_session_cookie(response, token, settings)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=auth.LOGIN_PATH)
        return response

    async def failed(request: Request, *, account_key: str, address_key: str, user_id: int | None,
                     how: str) -> bool:
        now, ip = auth.now_utc(), auth.client_addr(request)

        def work(conn: Any) -> bool:
            locked = sessions.login_failed(conn, account_key=account_key, address_key=address_key, now=now,
                                           limits=limits)
            subject = users.subject(user_id) if user_id is not None else "user:unknown"
            audit.record(conn, actor="anonymous", action="login.failure", subject=subject, now=now,
                         detail=f"{how} from {ip}")
            if locked:
                audit.record(conn, actor="system", action="login.lockout", subject=subject, now=now,
                             detail=f"{limits.max_failures} failures, locked {lock_minutes} min, last from {ip}")
            return locked

        return await db.run(work)

    @router.get("/console/login")
    async def login_form(request: Request, next: str | None = None) -> Response:
        if await auth.signed_in_session(request) is not None:
            user: ConsoleUser = request.state.user
            return _redirect(auth.ENROL_PATH if request.state.must_enrol else auth.destination(user.role, next))
        # A link from another site (a Telegram tip card) arrives without our SameSite=Strict cookie: load the
        # page once more from here, which sends it, so an officer already signed in goes straight on.
        again = request.headers.get("sec-fetch-site") == "cross-site" and "again" not in request.query_params
        return login_page(request, next_path=next, reload=again)

    @router.post("/console/login")
    async def login_submit(request: Request) -> Response:
        form = await form_of(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""))
        email, password = str(form.get("email") or ""), str(form.get("password") or "")
        next_path = str(form.get("next") or "") or None
        account_key, address_key = keys(email, request)
        refused = await db.run(sessions.login_refused, account_key=account_key, address_key=address_key,
                               now=auth.now_utc(), limits=limits)
        if refused is not None:
            return login_page(request, status=429, email=email, next_path=next_path,
                              error=LOCKED if refused == sessions.ACCOUNT else ADDRESS_LIMITED)
        record = await db.run(users.login_record, email=email) if email.strip() else None
        ok, rehash = await slow(users.verify_password, record.password_hash if record else None, password)
        if record is None or not ok or record.user.disabled:
            locked = await failed(request, account_key=account_key, address_key=address_key,
                                  user_id=record.user.id if record else None,
                                  how="disabled account" if record and ok else "password")
            return login_page(request, status=429 if locked else 401, email=email, next_path=next_path,
                              error=LOCKED if locked else BAD_CREDENTIALS)
        new_hash = await slow(users.HASHER.hash, password) if rehash else None
        old_token = request.cookies.get(auth.COOKIE, "")
        if not record.user.totp_enabled:
            return await finish(request, record.user, replaces=old_token, account_key=account_key,
                                new_hash=new_hash, old_hash=record.password_hash, next_path=next_path,
                                how="password")
        if new_hash is not None:  # the password is proven; keep its better hash even if the code never comes
            await db.run(users.signed_in, user_id=record.user.id, now=auth.now_utc(), new_hash=new_hash,
                         old_hash=record.password_hash)
        token, _csrf = await db.run(sessions.new_session, user_id=record.user.id, stage=sessions.PENDING_TOTP,
                                    now=auth.now_utc(), policy=policy, replaces=old_token)
        target = "/console/login/totp" + (f"?next={quote(n, safe='')}" if (n := auth.safe_next(next_path))
                                          else "")
        response = _redirect(target)
        auth.set_session_cookie(response, token, settings)
        return response

    async def pending(request: Request) -> sessions.Session | None:
        token = request.cookies.get(auth.COOKIE, "")
        return await db.run(sessions.session_for, token=token, now=auth.now_utc(), policy=policy,
                            stage=sessions.PENDING_TOTP) if token else None

    def totp_page(request: Request, session: sessions.Session, next_path: str | None, *, status: int = 200,
                  error: str | None = None) -> Response:
        return renderer.render(request, "login_totp.html", {
            "pending_csrf": session.csrf, "next": auth.safe_next(next_path) or "", "error": error}, status=status)

    @router.get("/console/login/totp")
    async def totp_form(request: Request, next: str | None = None) -> Response:
        session = await pending(request)
        if session is None:
            return _redirect(auth.login_url(next))
        return totp_page(request, session, next)

    @router.post("/console/login/totp")
    async def totp_submit(request: Request) -> Response:
        session = await pending(request)
        if session is None:
            form = await request.form(max_files=0)
            return login_page(request, status=401, next_path=str(form.get("next") or "") or None,
                              notice="Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.")
        form = await form_of(request, session.csrf)
        next_path = str(form.get("next") or "") or None
        user = session.user
        account_key, address_key = keys(user.email, request)
        token = request.cookies.get(auth.COOKIE, "")
        refused = await db.run(sessions.login_refused, account_key=account_key, address_key=address_key,
                               now=auth.now_utc(), limits=limits)
        if refused is None and await db.run(users.use_totp, user_id=user.id, code=str(form.get("code") or ""),
                                            cipher=cipher, now=auth.now_utc()):
            return await finish(request, user, replaces=token, account_key=account_key, new_hash=None,
                                old_hash="", next_path=next_path, how="password+totp")
        locked = refused is not None or await failed(request, account_key=account_key, address_key=address_key,
                                                     user_id=user.id, how="totp code")
        if not locked:
            return totp_page(request, session, next_path, status=401, error=BAD_CODE)
        await db.run(sessions.end_session, token=token)
        response = login_page(request, status=429, next_path=next_path,
                              error=LOCKED if refused != sessions.ADDRESS else ADDRESS_LIMITED)
        auth.clear_session_cookie(response, settings)
        return response

    @router.post("/console/logout")
    async def logout(request: Request) -> Response:
        response = _redirect(auth.LOGIN_PATH)
        session = await auth.signed_in_session(request)
        if session is not None:
            await form_of(request, session.csrf)  # a forged sign-out is refused like any forged form
            now = auth.now_utc()

            def work(conn: Any) -> None:
                sessions.end_session(conn, token=request.state.session_token)
                audit.record(conn, actor=f"officer:{session.user.id}", action="logout",
                             subject=users.subject(session.user.id), now=now,
                             detail=f"from {auth.client_addr(request)}")

            await db.run(work)
        auth.clear_session_cookie(response, settings)
        return response

    @router.post("/console/logout-everywhere")
    async def logout_everywhere(request: Request, user: CurrentUser, form: CheckedForm) -> Response:
        now = auth.now_utc()

        def work(conn: Any) -> int:
            ended = users.end_user_sessions(conn, user_id=user.id)
            audit.record(conn, actor=user.actor, action="logout.everywhere", subject=users.subject(user.id),
                         now=now, detail=f"{ended} sessions, from {auth.client_addr(request)}")
            return ended

        await db.run(work)
        response = _redirect(auth.LOGIN_PATH)
        auth.clear_session_cookie(response, settings)
        return response

    router.include_router(login_enrol.make_router(runtime, renderer))
    router.include_router(users_pages.make_router(runtime, renderer))
    return router
