"""Free text through the real intent model: flows started, stories pre-filled, questions when unsure."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from tests.chat import Chat, conversation_states, make_engine


async def test_whole_story_prefills_the_check_and_asks_only_what_is_missing(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send("số 0377 123 999 gọi xưng cô chủ nhiệm trường Nguyễn Du bảo cài app qua link "
                    "sll-vnedu.com, tôi chưa làm gì")
    text = chat.text()
    assert "Tôi hiểu như sau" in text
    assert "0377 123 999" in text and "Giáo viên chủ nhiệm" in text and "Nguyễn Du" in text
    (state,) = await conversation_states(sqlite_db)
    slots = state["slots"]
    assert slots["caller_number"] == "+84377123999" and slots["claimed_role"] == "homeroom_teacher"
    assert "install_app" in slots["asked"]
    # Everything a check needs was in the story: the verdict comes at once, with its reasons.
    assert "call_check" in slots
    assert slots["call_check"]["verdict"] == "scam"


async def test_free_text_without_diacritics_starts_the_report(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("xin chao")
    await chat.send("toi muon to giac so dien thoai lua dao nay")
    assert "liên lạc" in chat.text()


@dataclass(frozen=True)
class _Unsure:
    """A parse the classifier is not sure of (the dialogue's side of low confidence)."""

    text: str
    intent: str = "check_call"
    confidence: float = 0.31
    ranking: tuple[tuple[str, float], ...] = (("check_call", 0.31), ("report_scam", 0.29), ("check_link", 0.2))
    entities: tuple[object, ...] = ()


async def test_low_confidence_asks_with_the_top_choices(sqlite_db: Database) -> None:
    engine = make_engine(sqlite_db)
    engine.dialogue.understand = _Unsure  # a classifier answering with low confidence
    chat = Chat(engine)
    await chat.send("menu")
    await chat.send("cái này là sao vậy mọi người ơi giúp với")
    assert "Ý bạn là" in chat.text()
    assert chat.buttons()[:3] == ["📞 Kiểm tra cuộc gọi có phải từ trường", "🚨 Báo cáo cuộc gọi / tin nhắn / link lạ",
                                  "🔗 Kiểm tra đường link / ứng dụng"]
    await chat.press("Báo cáo")
    assert "liên lạc" in chat.text()


async def test_urgent_interrupts_a_form_even_when_phrased_freely(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send("trời ơi tài khoản của tôi vừa bị trừ sạch tiền rồi")
    assert any(m.urgent for m in chat.last)
    assert "Số điện thoại đã gọi" in chat.text()  # and the form waits where it was


async def test_answers_still_fill_slots_in_a_form(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send("0912 000 111")
    await chat.send("hôm qua")
    await chat.send("hủy")
    assert "Đã hủy" in chat.text()


async def test_small_talk_and_out_of_scope(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send("cảm ơn bạn nhiều nhé")
    assert "Không có gì" in chat.text()
    await chat.send("điểm thi học kỳ của con tôi bao giờ có vậy")
    assert "chỉ hỗ trợ" in chat.text()


async def test_a_denial_of_harm_overrides_the_classifier(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send("họ đòi mã OTP nhưng tôi không đưa, tôi chưa chuyển tiền")
    assert not any(m.urgent for m in chat.last)
    await chat.send("menu")
    await chat.send("tôi lỡ đọc mã OTP cho họ rồi")  # said plainly: the urgent path, whatever the model thinks
    assert any(m.urgent for m in chat.last)
