"""The signed-in user's own page (``/console/account``) and TOTP enrolment (``/console/account/totp``: a new
secret, its QR code, and a first code to prove it).

The secret is not stored until a code made from it comes back; meanwhile it travels in the form, sealed
with the data keys and bound to this session (another session, or a tampered field, cannot use it).
The QR code is an SVG in a ``data:`` URI image: the page keeps its strict CSP (no inline style or script).
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.console import auth
from bot.console.auth import CheckedForm, ConsoleUser, CurrentUser, EnrollingUser
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from storage import users
from storage.crypto import CryptoError
from storage.users_sessions import session_count, token_hash

ISSUER = "Hotline"
ROLE_NAMES = {"officer": "Cán bộ", "supervisor": "Chỉ huy", "admin": "Quản trị viên",
              "reporter": "Trường / xã báo cáo"}


def qr_data_uri(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=6, border=2))


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db, cipher = runtime.db, runtime.cipher
    router = APIRouter(include_in_schema=False)

    def aad(request: Request) -> str:
        return f"console.totp_enrol:{token_hash(request.state.session_token)}"

    def page(request: Request, user: ConsoleUser, secret: str, *, status: int = 200,
             error: str | None = None) -> Response:
        return renderer.render(request, "totp_enrol.html", {
            "enabled": False, "required": request.state.must_enrol, "error": error,
            "qr": qr_data_uri(users.totp_uri(secret, email=user.email, issuer=ISSUER)),
            "secret_display": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
            "enrolment": cipher.seal_text(secret, aad=aad(request))}, status=status)

    @router.get("/console/account")
    async def account(request: Request, user: CurrentUser) -> Response:
        count = await db.run(session_count, user_id=user.id)
        return renderer.render(request, "login_account.html", {"sessions": count,
                                                                "role_name": ROLE_NAMES.get(user.role, user.role)})

    @router.get(auth.ENROL_PATH)
    async def enrol_form(request: Request, user: EnrollingUser) -> Response:
        if user.totp_enabled:
            return renderer.render(request, "totp_enrol.html", {"enabled": True})
        return page(request, user, users.new_totp_secret())

    @router.post(auth.ENROL_PATH)
    async def enrol_submit(request: Request, user: EnrollingUser, form: CheckedForm) -> Response:
        if user.totp_enabled:
            return renderer.render(request, "totp_enrol.html", {"enabled": True})
        try:
            secret = cipher.open_text(str(form.get("enrolment") or ""), aad=aad(request))
        except (CryptoError, ValueError):
            # Another session's or a tampered field: start again with a fresh secret.
            return page(request, user, users.new_totp_secret(), status=422,
                        error="Phiên bật xác thực đã hết hạn. Hãy quét mã mới.")
        ok = await db.run(users.enrol_totp, user_id=user.id, secret=secret, code=str(form.get("code") or ""),
                          cipher=cipher, actor=user.actor, now=auth.now_utc())
        if not ok:
            return page(request, user, secret, status=422,
                        error="Mã không đúng. Kiểm tra giờ trên điện thoại và nhập mã đang hiện.")
        return RedirectResponse(auth.landing(user.role), status_code=303, headers=page_headers())

    return router
