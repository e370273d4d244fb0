"""The HTML we serve: the start page of ``hotline serve`` and the chat page.

Pages carry no inline script or style (the CSP forbids both). The chat's interface strings live here once,
rendered into the page for the first paint and handed to chat.js as a JSON data block for the language switch.
"""

from __future__ import annotations

import json
from html import escape

from bot.webchat.theme import Asset, Theme

UI: dict[str, dict[str, str]] = {
    "vi": {
        "switch": "English", "switch_lang": "en", "switch_to": "english",
        "notice": "Trả lời tự động. Khẩn cấp: gọi 113.",
        "log": "Cuộc trò chuyện", "input": "Tin nhắn của bạn", "placeholder": "Nhập tin nhắn…", "send": "Gửi",
        "attach": "Gửi ảnh chụp màn hình", "typing": "Hotline đang trả lời…",
        "reconnecting": "Mất kết nối. Đang thử kết nối lại…",
        "failed": "Mất kết nối tới máy chủ: tin nhắn của bạn chưa được gửi. Kiểm tra mạng rồi bấm “Thử lại”.",
        "retry": "Thử lại", "urgent": "KHẨN CẤP", "links": "Đường link (chỉ để xem, đừng mở):",
        "you": "Bạn", "bot": "Hotline", "image": "📷 Ảnh đã gửi", "too_big": "Ảnh quá lớn (tối đa 10 MB).",
        "not_image": "Chỉ gửi được ảnh (JPEG, PNG, GIF hoặc WebP).", "rejected": "Không gửi được: ",
        "noscript": "Trang trò chuyện cần JavaScript. Khẩn cấp, hãy gọi 113.",
        "copy": "Sao chép", "copied": "Đã chép", "copy_label": "Sao chép mã báo cáo",
    },
    "en": {
        "switch": "Tiếng Việt", "switch_lang": "vi", "switch_to": "tiếng việt",
        "notice": "Replies are automated. Emergency: call 113.",
        "log": "Conversation", "input": "Your message", "placeholder": "Type a message…", "send": "Send",
        "attach": "Send a screenshot", "typing": "Hotline is replying…",
        "reconnecting": "Connection lost. Reconnecting…",
        "failed": "Cannot reach the server: your message has not been sent. Check your connection, then press "
                  "“Try again”.",
        "retry": "Try again", "urgent": "URGENT", "links": "Links (to read only, do not open):",
        "you": "You", "bot": "Hotline", "image": "📷 Image sent", "too_big": "The image is too large (max 10 MB).",
        "not_image": "Only images can be sent (JPEG, PNG, GIF or WebP).", "rejected": "Not sent: ",
        "noscript": "The chat needs JavaScript. In an emergency, call 113.",
        "copy": "Copy", "copied": "Copied", "copy_label": "Copy the report reference",
    },
}

_ICON_CAMERA = ('<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">'
                '<path fill="currentColor" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 '
                '2 0 0 0-2-2h-3.2L15 3H9Zm3 5a5 5 0 1 1 0 10 5 5 0 0 1 0-10Zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z"/>'
                '</svg>')
_ICON_SEND = ('<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">'
              '<path fill="currentColor" d="M2.5 20.5 22 12 2.5 3.5 2.5 10l13 2-13 2z"/></svg>')


def _json_block(value: object) -> str:
    """JSON safe inside a <script type="application/json"> element (no way to close the element early)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _head(title: str, assets: dict[str, Asset], theme_version: str, *, lang: str, script: str | None,
          styles: tuple[str, ...] = ()) -> str:
    css = assets["hotline.css"]
    js = f'<script src="/chat/static/{script}?v={assets[script].version}" defer></script>' if script else ""
    extra = "".join(f'<link rel="stylesheet" href="/chat/static/{n}?v={assets[n].version}">' for n in styles)
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover">'
            '<meta name="color-scheme" content="light">'
            f"<title>{escape(title)}</title>"
            f'<link rel="icon" href="/chat/static/logo.svg?v={assets["logo.svg"].version}">'
            f'<link rel="stylesheet" href="/chat/static/hotline.css?v={css.version}">'
            f'<link rel="stylesheet" href="/chat/theme.css?v={theme_version}">{extra}{js}</head>')


def _logo(theme: Theme) -> str:
    return f'<img class="logo" src="{escape(theme.logo_url)}" alt="" width="40" height="40">' if theme.logo_url else ""


def chat_page(theme: Theme, assets: dict[str, Asset], theme_version: str, *, lang: str, school: str | None,
              embedded: bool) -> str:
    """The chat. ``school`` and ``lang`` come validated from the embed tag (via the iframe URL)."""
    t = UI[lang]
    head = _head(theme.title, assets, theme_version, lang=lang, script="chat.js", styles=("messages.css",))
    return f"""{head}
<body class="chat-page{' embedded' if embedded else ''}" data-lang="{lang}" data-school="{escape(school or '')}">
<script type="application/json" id="ui-strings">{_json_block(UI)}</script>
<div class="app">
<header class="bar">{_logo(theme)}<h1 class="title">{escape(theme.title)}</h1>
<button type="button" id="lang" class="lang" lang="{t['switch_lang']}">{t['switch']}</button></header>
<p class="notice" data-ui="notice">{t['notice']}</p>
<div id="log" class="log" role="log" aria-live="polite" aria-relevant="additions" aria-label="{t['log']}"
 tabindex="-1"></div>
<div id="typing" class="typing" role="status" hidden><span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>
<span data-ui="typing">{t['typing']}</span></div>
<div id="status" class="status" role="alert" hidden><p id="status-text"></p>
<button type="button" id="retry" class="retry" data-ui="retry">{t['retry']}</button></div>
<form id="composer" class="composer" autocomplete="off">
<input type="file" id="file" class="sr-only" tabindex="-1" aria-hidden="true"
 accept="image/png,image/jpeg,image/gif,image/webp">
<button type="button" id="attach" class="icon" aria-label="{t['attach']}" title="{t['attach']}"
 data-ui-label="attach">{_ICON_CAMERA}</button>
<label for="text" class="sr-only" data-ui="input">{t['input']}</label>
<textarea id="text" rows="1" maxlength="4000" enterkeyhint="send" placeholder="{t['placeholder']}"></textarea>
<button type="submit" id="send" class="icon send" aria-label="{t['send']}" title="{t['send']}"
 data-ui-label="send">{_ICON_SEND}</button>
</form>
<noscript><p class="notice">{t['noscript']}</p></noscript>
</div>
</body></html>
"""


def start_page(theme: Theme, assets: dict[str, Asset], theme_version: str, *, police_name: str, origin: str,
               console: bool) -> str:
    """What ``hotline serve`` shows parents at ``/``: what this is, and the way into the chat.

    How a school embeds the chat, and the developers' API, are for administrators: they are in the README.
    ``origin`` is accepted for the router's sake and not shown.
    """
    del origin
    head = _head(theme.title, assets, theme_version, lang="vi", script=None)
    police = escape(police_name)
    console_link = ('<li><a href="/console">Cán bộ: trang tiếp nhận báo cáo</a> '
                    '<span lang="en">(officers\' console)</span></li>') if console else ""
    return f"""{head}
<body class="start-page">
<header class="bar">{_logo(theme)}<p class="title">{escape(theme.title)}</p></header>
<main class="start">
<h1>Hotline chống lừa đảo giả mạo nhà trường</h1>
<p>Trợ lý tự động của {police} dành cho phụ huynh: báo cáo cuộc gọi, tin nhắn, đường link lừa đảo giả mạo
nhà trường; kiểm tra một cuộc gọi hay đường link có thật từ trường không; hướng dẫn việc cần làm ngay khi đã
lỡ đưa mã OTP hoặc chuyển tiền.</p>
<p><a class="cta" href="/chat">💬 Bắt đầu trò chuyện</a></p>
<p class="emergency">Khẩn cấp: gọi <strong>113</strong>. Báo số điện thoại lừa đảo: <strong>156</strong>
hoặc nhắn tin tới <strong>5656</strong>.</p>
<p lang="en">Hotline is the {police}'s assistant for parents: report or check calls, messages and links that
impersonate schools. <a href="/chat?lang=en">Open the chat</a> (English available).</p>
{f'<ul class="more">{console_link}</ul>' if console_link else ""}
</main>
</body></html>
"""
