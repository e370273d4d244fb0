"""The admins' account pages: ``/console/users`` (list and create) and ``/console/users/{id}`` (role, unit,
Telegram id, disable / enable, new password, TOTP required / reset). Every change is audited by
:mod:`storage.users` with the admin as actor; passwords are hashed off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.console import auth
from bot.console.auth import CheckedForm, ConsoleUser, require_roles
from bot.console.login_enrol import ROLE_NAMES
from bot.console.templating import Renderer, page_headers, request_lang
from bot.runtime import Runtime
from storage import users
from storage.units import list_units

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]

# ?done=<code> after a change: a fixed message, never text from the request.
DONE = {
    "created": "Đã tạo tài khoản.",
    "updated": "Đã lưu thay đổi.",
    "disabled": "Đã khóa tài khoản; mọi phiên đăng nhập của tài khoản đã kết thúc.",
    "enabled": "Đã mở lại tài khoản.",
    "password": "Đã đặt mật khẩu mới; mọi phiên đăng nhập của tài khoản đã kết thúc.",
    "totp_required": "Tài khoản phải dùng xác thực hai lớp từ lần đăng nhập tới.",
    "totp_optional": "Xác thực hai lớp không còn bắt buộc riêng cho tài khoản này.",
    "totp_reset": "Đã xóa khóa xác thực hai lớp; người dùng sẽ bật lại ở lần đăng nhập tới.",
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    settings, db = runtime.settings, runtime.db
    router = APIRouter(include_in_schema=False)

    async def units() -> list[dict[str, Any]]:
        return await db.run(list_units)

    async def list_page(request: Request, *, status: int = 200, error: str | None = None,
                        values: dict[str, str] | None = None) -> Response:
        return renderer.render(request, "users.html", {
            "accounts": await db.run(users.list_users), "units": await units(), "roles": users.ROLES,
            "role_names": ROLE_NAMES, "error": error, "values": values or {},
            "done": DONE.get(request.query_params.get("done", "")), "min_password": users.MIN_PASSWORD,
            "required_roles": settings.console.require_totp}, status=status)

    @router.get("/console/users")
    async def users_list(request: Request, admin: Admin) -> Response:
        return await list_page(request)

    @router.post("/console/users")
    async def users_create(request: Request, admin: Admin, form: CheckedForm) -> Response:
        values = {k: _field(form, k) for k in ("email", "role", "unit", "telegram_id")}
        password = str(form.get("password") or "")
        try:
            users.check_password(password)
            await db.run(users.check_new_user, email=values["email"], role=values["role"],
                         unit_id=values["unit"] or None, telegram_user_id=values["telegram_id"] or None)
            password_hash = await asyncio.to_thread(users.hash_password, password)

            def work(conn: Any) -> users.UserRow:
                row = users.add_user(conn, email=values["email"], role=values["role"], unit_id=values["unit"] or None,
                                     password_hash=password_hash, telegram_user_id=values["telegram_id"] or None,
                                     actor=admin.actor, now=auth.now_utc())
                if form.get("totp_required"):
                    row = users.set_totp_required(conn, user_id=row.id, required=True, actor=admin.actor,
                                                  now=auth.now_utc())
                return row

            await db.run(work)
        except users.UserError as exc:
            return await list_page(request, status=422, error=exc.say(request_lang(request)), values=values)
        return _see_other("/console/users?done=created")

    async def account_page(request: Request, user_id: int, *, status: int = 200,
                           error: str | None = None) -> Response:
        account = await db.run(users.get_user, user_id=user_id)
        if account is None:
            return renderer.render(request, "not_found.html", status=404)
        return renderer.render(request, "user_form.html", {
            "account": account, "units": await units(), "roles": users.ROLES, "role_names": ROLE_NAMES,
            "error": error, "done": DONE.get(request.query_params.get("done", "")),
            "min_password": users.MIN_PASSWORD, "role_requires_totp": account.role in settings.console.require_totp,
            "myself": account.id == request.state.user.id}, status=status)

    @router.get("/console/users/{user_id:int}")
    async def user_detail(request: Request, user_id: int, admin: Admin) -> Response:
        return await account_page(request, user_id)

    @router.post("/console/users/{user_id:int}")
    async def user_change(request: Request, user_id: int, admin: Admin, form: CheckedForm) -> Response:
        action, now = _field(form, "action"), auth.now_utc()
        if await db.run(users.get_user, user_id=user_id) is None:
            return renderer.render(request, "not_found.html", status=404)
        try:
            if user_id == admin.id and action in ("disable", "update"):
                # An admin who demotes or disables themselves may leave nobody to undo it.
                raise users.UserError("you cannot disable your own account or change your own role",
                                      vi="Bạn không thể tự khóa hoặc đổi vai trò của chính mình.")
            if action == "update":
                await db.run(users.update_user, user_id=user_id, role=_field(form, "role") or None,
                             unit_id=_field(form, "unit") or None,
                             telegram_user_id=_field(form, "telegram_id") or None, actor=admin.actor, now=now)
                done = "updated"
            elif action in ("disable", "enable"):
                await db.run(users.set_disabled, user_id=user_id, disabled=action == "disable", actor=admin.actor,
                             now=now)
                done = f"{action}d"
            elif action == "password":
                password_hash = await asyncio.to_thread(users.hash_password, str(form.get("password") or ""))
                await db.run(users.set_password, user_id=user_id, password_hash=password_hash, actor=admin.actor,
                             now=now)
                done = "password"
            elif action in ("totp_required", "totp_optional"):
                await db.run(users.set_totp_required, user_id=user_id, required=action == "totp_required",
                             actor=admin.actor, now=now)
                done = action
            elif action == "totp_reset":
                await db.run(users.reset_totp, user_id=user_id, actor=admin.actor, now=now)
                done = action
            else:
                raise users.UserError("unknown action", vi="Thao tác không hợp lệ.")
        except users.UserError as exc:
            return await account_page(request, user_id, status=422, error=exc.say(request_lang(request)))
        if user_id == admin.id and action in ("password", "totp_reset"):
            return _see_other(auth.LOGIN_PATH)  # their own sessions, this one included, have ended
        return _see_other(f"/console/users/{user_id}?done={done}")

    return router
