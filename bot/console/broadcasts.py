"""Admins send awareness warnings to subscribed parents: ``/console/broadcasts`` (what went out, who is
subscribed), ``/console/broadcasts/new`` (compose from the province's SMS text or an alert, pick the audience,
see the count and a preview per channel, send now or schedule), ``/console/broadcasts/{id}`` (live progress:
sent / failed / blocked the bot / remaining, ETA; pause, resume, cancel).

Sending is the job of :mod:`bot.broadcast_delivery` in every ``hotline serve`` process, from the rows
:func:`storage.broadcasts.create` writes; this page only starts, steers and watches it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.broadcast_delivery import warning_message
from bot.channels.base import Capabilities
from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles
from bot.console.templating import LOCAL_TZ, Renderer, page_headers
from bot.runtime import Runtime
from storage import broadcasts, subscriptions
from storage.subscriptions import Audience, AudienceError
from storage.units import commune_keys

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
# The province's SMS warning, verbatim (the seed's text): the ready template of a new broadcast.
SEED_TEXT = ("Hiện nay, xuất hiện thủ đoạn lừa đảo trực tuyến giả mạo nhà trường yêu cầu cung cấp thông tin, cài "
             "đặt ứng dụng \"sổ liên lạc điện tử\". Đề nghị Nhân dân nâng cao cảnh giác, không cung cấp tài khoản "
             "ngân hàng, mã OTP hoặc cài đặt các ứng dụng lạ, nếu nhận được cuộc gọi có dấu hiệu bất thường, người "
             "dân cần liên hệ ngay với nhà trường, Công an nơi gần nhất để được hỗ trợ")
SEED_TEXT_EN = ("Scammers are impersonating schools online, asking parents for information and to install an "
                "\"e-contact book\" app. Stay alert: never give your bank account or OTP codes, never install "
                "unknown apps, and if a call seems unusual, contact the school or the nearest police station at once.")
# What a platform we do not run here can show (the preview still says how it will look there).
KNOWN = {"telegram": Capabilities(buttons=True, max_text=4096), "zalo": Capabilities(buttons=True, max_text=2000),
         "web": Capabilities(buttons=True, max_text=20_000), "api": Capabilities(buttons=True, push=False)}
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "web": "Web chat", "api": "HTTP API", "terminal": "Terminal"}
STATUS_NAMES = {"draft": "Nháp", "scheduled": "Đã hẹn giờ", "sending": "Đang gửi", "paused": "Tạm dừng",
                "done": "Đã gửi xong", "cancelled": "Đã hủy"}
DONE = {"pause": "Đã tạm dừng.", "resume": "Đã tiếp tục gửi.", "cancel": "Đã hủy: không gửi thêm cho ai.",
        "created": "Đã bắt đầu gửi.", "scheduled": "Đã hẹn giờ gửi.",
        "resend_uncertain": "Sẽ gửi lại cho những người chưa chắc đã nhận."}
_SPLIT = re.compile(r"[\n,;]+")


def text_of(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def audience_of(kind: str, raw: str) -> Audience:
    """The audience from the form: school ids, or communes by code or name (matched on the folded name)."""
    values = [v.strip() for v in _SPLIT.split(raw) if v.strip()]
    if kind == "communes":
        values = [v if re.fullmatch(r"[0-9A-Za-z.\-]{1,16}", v) and any(c.isdigit() for c in v)
                  else commune_keys(v)[1] for v in values]
    return Audience(kind, tuple(dict.fromkeys(values)))


def local_instant(text: str) -> datetime | None:
    """A ``datetime-local`` field (the province's clock) as an aware instant."""
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return None
    return naive.replace(tzinfo=LOCAL_TZ) if naive.tzinfo is None else naive


def previews(runtime: Runtime, counts: dict[str, int], text_vi: str) -> list[dict[str, Any]]:
    """How the warning looks on each channel with subscribers (buttons, or numbered text where there are none)."""
    message = warning_message(text_vi, "vi")
    out = []
    for channel in sorted(set(counts) | {"telegram"}):
        registered = runtime.channels.get(channel)
        caps = registered.capabilities if registered is not None else KNOWN.get(channel, Capabilities())
        parts = max(1, -(-len(message.text) // caps.max_text))
        out.append({"channel": channel, "name": CHANNEL_NAMES.get(channel, channel), "count": counts.get(channel, 0),
                    "text": message.text, "buttons": [b.label for b in message.buttons], "as_buttons": caps.buttons,
                    "parts": parts, "here": registered is not None, "push": caps.push})
    return out


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    router = APIRouter(include_in_schema=False)

    @router.get("/console/broadcasts")
    async def broadcast_list(request: Request, admin: Admin) -> Response:
        now = now_utc()
        items = await db.run(broadcasts.recent)
        progress = {b.id: await db.run(broadcasts.progress, broadcast_id=b.id, now=now) for b in items[:20]}
        return renderer.render(request, "broadcasts.html", {
            "items": items, "progress": progress, "status_names": STATUS_NAMES,
            "summary": await db.run(subscriptions.summary)})

    async def compose(request: Request, *, values: dict[str, str], status: int = 200, error: str | None = None,
                      preview: list[dict[str, Any]] | None = None, total: int | None = None) -> Response:
        return renderer.render(request, "broadcast_new.html", {
            "values": values, "error": error, "preview": preview, "total": total,
            "summary": await db.run(subscriptions.summary), "channel_names": CHANNEL_NAMES}, status=status)

    @router.get("/console/broadcasts/new")
    async def broadcast_new(request: Request, admin: Admin) -> Response:
        # An alert (or any page) may pre-fill the text: ?text=…&title=…; the admin still reads it before sending.
        text = request.query_params.get("text", "")[:3500] or SEED_TEXT
        return await compose(request, values={
            "title": request.query_params.get("title", "")[:255] or "Cảnh báo lừa đảo giả mạo nhà trường",
            "text_vi": text, "text_en": "" if request.query_params.get("text") else SEED_TEXT_EN,
            "audience": "all", "values": ""})

    @router.post("/console/broadcasts/new")
    async def broadcast_create(request: Request, admin: Admin, form: CheckedForm) -> Response:
        values = {k: text_of(form, k) for k in ("title", "text_vi", "text_en", "audience", "values", "send_at")}
        action = text_of(form, "action")
        try:
            audience = audience_of(values["audience"] or "all", values["values"])
        except AudienceError as exc:
            return await compose(request, values=values, status=422, error=str(exc))
        counts = await db.run(subscriptions.count_audience, audience=audience)
        if action == "preview" or not values["text_vi"]:
            return await compose(request, values=values, status=200 if values["text_vi"] else 422,
                                 error=None if values["text_vi"] else "Nội dung cảnh báo đang trống.",
                                 preview=previews(runtime, counts, values["text_vi"] or SEED_TEXT),
                                 total=sum(counts.values()))
        send_at = None
        if action == "schedule":
            send_at = local_instant(values["send_at"])
            if send_at is None or send_at <= now_utc():
                return await compose(request, values=values, status=422, error="Chọn một thời điểm trong tương lai.")
        try:
            broadcast_id = await db.run(broadcasts.create, title=values["title"], text_vi=values["text_vi"],
                                        text_en=values["text_en"] or None, audience=audience, actor=admin.actor,
                                        now=now_utc(), send_at=send_at)
        except broadcasts.BroadcastError as exc:
            return await compose(request, values=values, status=422, error=str(exc))
        done = "scheduled" if send_at else "created"
        return RedirectResponse(f"/console/broadcasts/{broadcast_id}?done={done}", status_code=303,
                                headers=page_headers())

    @router.get("/console/broadcasts/{broadcast_id:int}")
    async def broadcast_detail(request: Request, broadcast_id: int, admin: Admin) -> Response:
        found = await db.run(broadcasts.get, broadcast_id=broadcast_id)
        if found is None:
            return renderer.render(request, "not_found.html", status=404)
        progress = await db.run(broadcasts.progress, broadcast_id=broadcast_id, now=now_utc())
        return renderer.render(request, "broadcast.html", {
            "b": found, "p": progress, "status_names": STATUS_NAMES, "channel_names": CHANNEL_NAMES,
            "done": DONE.get(request.query_params.get("done", ""))})

    @router.get("/console/broadcasts/{broadcast_id:int}/progress.json")
    async def broadcast_progress(request: Request, broadcast_id: int, admin: Admin) -> Response:
        found = await db.run(broadcasts.get, broadcast_id=broadcast_id)
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404, headers=page_headers())
        progress = await db.run(broadcasts.progress, broadcast_id=broadcast_id, now=now_utc())
        return JSONResponse({"status": found.status, **progress.to_json()}, headers=page_headers())

    @router.post("/console/broadcasts/{broadcast_id:int}")
    async def broadcast_steer(request: Request, broadcast_id: int, admin: Admin, form: CheckedForm) -> Response:
        action = text_of(form, "action")
        try:
            await db.run(broadcasts.steer, broadcast_id=broadcast_id, action=action, actor=admin.actor, now=now_utc())
        except broadcasts.BroadcastError:
            return RedirectResponse(f"/console/broadcasts/{broadcast_id}", status_code=303, headers=page_headers())
        return RedirectResponse(f"/console/broadcasts/{broadcast_id}?done={action}", status_code=303,
                                headers=page_headers())

    return router
