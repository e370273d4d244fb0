"""FAQ entries: answered from free text at the menu (two keyword phrases), listed from the menu, never taking a
report, a check or an urgent message; a new entry from the console is answerable at once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.content_service import seed_if_new
from storage import content_faq, content_seed
from storage.db import Database
from tests.chat import Chat, make_engine
from tests.console.conftest import Console

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def seed(db: Database) -> None:
    await db.run(content_seed.seed, now=NOW, sample_schools=[])


async def test_free_text_gets_the_answer_then_the_menu(sqlite_db: Database) -> None:
    await seed(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("xin chào")
    for typed in ("app sổ liên lạc thật tải ở đâu", "app so lien lac that tai o dau vay",
                  "ko biet tai app so lien lac o dau"):
        await chat.send(typed)
        assert chat.last[0].text.startswith("❓ App Sổ liên lạc điện tử thật tải ở đâu?"), typed
        assert "App Store" in chat.last[0].text
        assert chat.last[-1].text == "Bạn cần giúp gì?"


async def test_a_first_message_gets_the_welcome_too(sqlite_db: Database) -> None:
    await seed(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("nhà trường có gọi điện xin mã otp không")
    assert "Xin chào" in chat.last[0].text  # who we are and what happens to a report, as every first message
    assert any(m.text.startswith("❓ Nhà trường có gọi điện xin mã OTP không?") for m in chat.last)


@pytest.mark.parametrize("typed", [
    "tôi bị gọi bảo cài sổ liên lạc",  # one phrase only: a report, not a question
    "sổ liên lạc tải ở đâu http://vnedu-app.com",  # a link: the check answers
    "tôi đã đưa mã otp cho nhà trường gọi điện",  # harm done: the urgent advice first
])
async def test_reports_checks_and_harm_are_not_taken(sqlite_db: Database, typed: str) -> None:
    await seed(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send(typed)
    assert not any(m.text.startswith("❓") for m in chat.last), chat.text()


async def test_the_menu_lists_the_questions_and_a_press_answers(sqlite_db: Database) -> None:
    await seed(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Câu hỏi thường gặp")
    assert chat.last[0].text.startswith("❓ Câu hỏi thường gặp")
    assert "Nhà trường có gọi điện xin mã OTP không?" in chat.buttons()
    assert "Where do I download the real e-contact book app?" not in chat.buttons()  # the parent's language
    await chat.press("xin mã OTP")
    assert "Không bao giờ" in chat.last[0].text
    await chat.send("english")
    await chat.press("Common questions")
    assert "Where do I download the real e-contact book app?" in chat.buttons()


async def test_a_disabled_or_deleted_entry_is_not_answered(sqlite_db: Database) -> None:
    entry = await sqlite_db.run(content_faq.save, entry_id=None, question="Học phí hoàn lại ở đâu?",
                                answer="Chỉ tại trường.", keywords="hoàn học phí\nhoàn tiền\nở đâu", language="vi",
                                enabled=True, position=0, actor="t", now=NOW)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send("hoàn tiền học phí ở đâu")
    assert chat.last[0].text.startswith("❓ Học phí hoàn lại ở đâu?")
    await sqlite_db.run(content_faq.save, entry_id=entry, question="Học phí hoàn lại ở đâu?", answer="Chỉ tại trường.",
                        keywords="hoàn học phí\nhoàn tiền\nở đâu", language="vi", enabled=False, position=0, actor="t",
                        now=NOW)
    await chat.send("hoàn tiền học phí ở đâu")
    assert not chat.last[0].text.startswith("❓")


async def test_one_keyword_is_refused(sqlite_db: Database) -> None:
    with pytest.raises(content_faq.FaqError):
        await sqlite_db.run(content_faq.save, entry_id=None, question="Q?", answer="A", keywords="chỉ một",
                            language="vi", enabled=True, position=0, actor="t", now=NOW)


async def test_a_new_entry_from_the_console_is_answerable_at_once(content_console: Console) -> None:
    admin = await content_console.make_user("admin@ca.vn", "admin")
    client = await content_console.signed_in_client(admin)
    r = await client.form("/console/content/faq", {"question": "Có phải đóng tiền cài Sổ liên lạc không?",
                                                   "answer": "Không. Sổ liên lạc điện tử không thu tiền qua link.",
                                                   "keywords": "đóng tiền\nsổ liên lạc\nphí", "language": "vi",
                                                   "enabled": "1", "position": "0"})
    assert r.status_code == 303
    async with httpx.AsyncClient(base_url=content_console.base_url) as api:
        await api.post("/api/v1/messages", json={"user_id": "p-1", "text": "menu"})
        r = await api.post("/api/v1/messages", json={"user_id": "p-1", "text": "sổ liên lạc có phải đóng tiền ko"})
    assert r.json()["messages"][0]["text"].startswith("❓ Có phải đóng tiền cài Sổ liên lạc không?")
    bad = await client.form("/console/content/faq", {"question": "Q", "answer": "A", "keywords": "một",
                                                     "language": "vi"})
    assert bad.status_code == 422 and "ít nhất hai cụm" in bad.text


async def test_seeding_happens_once_and_only_when_enabled(tmp_path: object) -> None:
    from tests.console.conftest import console_settings

    settings = console_settings(tmp_path, content={"seed_samples": True})  # type: ignore[arg-type]
    from bot.runtime import build_runtime

    runtime = await build_runtime(settings)
    try:
        await seed_if_new(runtime)
        first = len(await runtime.db.run(content_faq.entries))
        assert first == len(content_seed.FAQ)
        assert await runtime.db.run(content_seed.sample_count) == 5
        await runtime.db.run(content_seed.clear_samples, actor="t", now=NOW)
        await seed_if_new(runtime)  # not again, even with the samples gone
        assert await runtime.db.run(content_seed.sample_count) == 0
        assert len(await runtime.db.run(content_faq.entries)) == first
    finally:
        await runtime.close()
