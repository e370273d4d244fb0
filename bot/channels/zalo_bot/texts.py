"""What the Zalo Bot adapter says itself, when a message never reaches the dialogue engine (Vietnamese, then English).

The Zalo OA adapter's notices fit this platform as they are; only what is the Bot Platform's own is added.
"""

from __future__ import annotations

from bot.channels.zalo.texts import NOTICES as OA_NOTICES

NOTICES: dict[str, str] = {
    **OA_NOTICES,
    "unsupported": (
        "Hotline không đọc được tin nhắn này: Zalo không chuyển nội dung của nó cho bot. Nếu bạn cần báo cáo "
        "lừa đảo, hãy nhờ người thân báo giúp qua Zalo hoặc trang web của Hotline. Khẩn cấp: gọi 113."
        "\n(English: Zalo did not pass this message on to the bot; ask a relative to report for you, or call 113 "
        "in an emergency.)"
    ),
}
