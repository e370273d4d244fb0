"""Issue 17: a conversation a worried parent can't derail. One regression test per defect found, each driving the
real engine on a real database with inputs of the defect's class (other sentences, with and without
diacritics, teencode), not only the sentence in the issue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.checks.csv_import import parse_blocklist_csv, parse_schools_csv
from handlers.messages import InboundMessage
from storage.db import Database
from storage.reference import add_to_blocklist, upsert_schools
from tests.chat import Chat, conversation_states, make_engine, tip_rows
from tests.chat import test_nlu as trained_nlu

SCHOOLS = ("school_id,name,province,commune,official_phones,contact_book_app,website\n"
           "CM-ND,Trường THCS Nguyễn Du,Cà Mau,Phường 5,0290 383 1234,vnEdu,\n"
           "CM-LL,Trường THCS Lê Lợi,Cà Mau,Phường Tân Thành,0290 383 5678,vnEdu,\n"
           "CM-THD1,Trường Tiểu học Trần Hưng Đạo,Cà Mau,Phường 8,0290 383 2222,vnEdu,\n"
           "CM-THD2,Trường THCS Trần Hưng Đạo,Cà Mau,Phường 8,0290 383 3333,vnEdu,\n")


async def _directory(db: Database) -> None:
    now = datetime.now(UTC)
    await db.run(upsert_schools, records=parse_schools_csv(SCHOOLS.encode()).rows, now=now)
    entries = parse_blocklist_csv(b"kind,value,note\nphone,0569 999 888,confirmed\n").rows
    await db.run(add_to_blocklist, entries=entries, now=now)


async def _to_step(chat: Chat, question: str) -> None:
    """Start a report by a call and skip ahead to ``question`` (the first prompt containing it)."""
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    for _ in range(14):
        if question in chat.text():
            return
        if "Xong" in chat.buttons() and "ảnh chụp" in chat.text().lower():
            await chat.press("Bỏ qua")
        elif "mất tiền chưa" in chat.text():
            await chat.press("Không, chưa")
        else:
            await chat.send("bỏ qua")
    raise AssertionError(f"never reached {question!r}: {chat.text()}")


async def _to_summary(chat: Chat) -> None:
    """Answer the rest of the report the shortest way: no money lost, anonymous, everything else skipped."""
    for _ in range(16):
        text = chat.text()
        if "Kiểm tra lại" in text:
            return
        if "mất tiền chưa" in text:
            await chat.press("Không, chưa")
        elif "liên hệ lại" in text:
            await chat.press("ẩn danh")
        elif "đưa cho họ thông tin nào" in text and any(b.startswith("✅") for b in chat.buttons()):
            await chat.press("Xong")
        else:
            await chat.send("bỏ qua")
    raise AssertionError(f"never reached the summary: {chat.text()}")


# ----- 1. Negation read as harm --------------------------------------------------------------------------
DENIALS = ["chưa mất tiền", "chua mat tien", "ko mất đồng nào", "khum mất tiền", "may là chưa chuyển",
           "suýt nữa thì chuyển nhưng con gọi lại kịp", "định chuyển nhưng không chuyển", "đâu có mất đâu",
           "chả mất gì", "không hề mất tiền", "hok có", "tiền vẫn còn nguyên"]


@pytest.mark.parametrize("answer", DENIALS)
async def test_negation_at_the_money_question_is_not_read_as_harm(sqlite_db: Database, answer: str) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "mất tiền chưa")
    await chat.send(answer)
    assert not any(m.urgent for m in chat.last), answer
    assert "LÀM NGAY" not in chat.text()
    assert "đưa cho họ thông tin nào" in chat.text()  # answered "no": on to what was given
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["money_lost"] == "no"


@pytest.mark.parametrize("text", ["chưa mất tiền", "chua mat tien", "suýt nữa thì chuyển tiền cho nó",
                                  "may mà chưa mất đồng nào", "tôi không hề đọc mã otp cho ai"])
def test_negation_is_in_the_model_features_a_denial_parses_as_no_harm(text: str) -> None:
    assert trained_nlu().parse(text).intent not in ("money_lost", "shared_credentials")


@pytest.mark.parametrize("text", ["họ đòi OTP nhưng tôi không đưa", "ho doi otp nhung minh k dua",
                                  "nó bắt chuyển 5 triệu, tôi chưa chuyển", "may là chưa cài app của nó"])
async def test_negation_in_free_text_never_opens_the_urgent_path(sqlite_db: Database, text: str) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send(text)
    assert not any(m.urgent for m in chat.last)


# ----- 2. The parent's answer is lost when harm is detected ----------------------------------------------
async def test_harm_said_as_an_answer_is_kept_in_the_slot_it_answered_and_the_form_moves_on(
        sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "nội dung tin nhắn")
    await chat.send("mã OTP của tôi đã gửi cho họ là 483920")
    assert chat.last[0].urgent and "LÀM NGAY" in chat.last[0].text  # the advice first…
    assert "ảnh chụp" in chat.text().lower()  # …then the next question, not the same one again
    (state,) = await conversation_states(sqlite_db)
    kept = state["slots"]["message_text"]
    assert "[OTP đã ẩn]" in kept and "483920" not in kept
    await _to_summary(chat)
    await chat.press("Gửi báo cáo")
    (tip,) = await tip_rows(sqlite_db)
    assert tip["urgent"] is True
    assert "[OTP đã ẩn]" in tip["data"]["slots"]["message_text"]
    assert tip["data"]["slots"]["shared"] == ["otp"]  # what was given was ticked for the parent


# ----- 3. A typed answer at a multi-select step is ignored or replaces the choice -------------------------
async def test_typed_answer_at_a_multi_select_adds_to_the_ticks_by_meaning(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "Họ yêu cầu bạn làm gì")
    await chat.press("Mã OTP")
    await chat.send("bắt cài app")
    assert "Tôi ghi nhận: Mã OTP, Cài ứng dụng" in chat.text()
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["asked"] == ["otp", "install_app"]


async def test_harm_typed_at_a_multi_select_is_the_answer_not_a_silent_reask(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "Họ yêu cầu bạn làm gì")
    await chat.send("tôi đã đọc mã OTP cho họ rồi")
    assert chat.last[0].urgent
    assert "Tôi ghi nhận: Mã OTP" in chat.text() and "đường link" in chat.text()
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["asked"] == ["otp"]


async def test_editing_a_multi_choice_field_starts_with_its_ticks(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "Họ yêu cầu bạn làm gì")
    await chat.send("doi stk va otp")
    await _to_summary(chat)
    await chat.press("Sửa")
    await chat.press("Họ yêu cầu")
    assert "✅ Mã OTP" in chat.buttons() and "✅ Số tài khoản / thông tin ngân hàng" in chat.buttons()


# ----- 4. A phone number inside a sentence --------------------------------------------------------------
@pytest.mark.parametrize("said", ["số 0912345678", "so 0912345678", "sđt của nó là 0912.345.678 nhé",
                                  "họ gọi từ +84 912-345-678", "(+84) 912 345 678", "84912345678 ạ"])
async def test_phone_number_inside_a_sentence_in_any_notation(sqlite_db: Database, said: str) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send(said)
    assert "chưa đúng" not in chat.text()
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["caller_number"] == "+84912345678"


# ----- 5. A fragment of a question taken as a school ----------------------------------------------------
@pytest.mark.parametrize("asked", ["…có phải của trường thật không?", "co phai truong that ko",
                                   "trường này có thật không"])
async def test_a_question_is_never_taken_as_a_school_name(sqlite_db: Database, asked: str) -> None:
    await _directory(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "từ trường nào")
    await chat.send(asked)
    assert "từ trường nào" in chat.text()
    (state,) = await conversation_states(sqlite_db)
    assert "school" not in state["slots"]


async def test_school_is_matched_in_the_directory_with_did_you_mean(sqlite_db: Database) -> None:
    await _directory(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "từ trường nào")
    await chat.send("truong Nguyen Duu")  # a typo, no diacritics
    assert "Có phải ý bạn là" in chat.text()
    await chat.press("Trường THCS Nguyễn Du")
    await chat.send("bỏ qua")  # the reason: the form went on
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["school"] == {"id": "CM-ND", "name": "Trường THCS Nguyễn Du"}
    await chat.send("quay lại")
    await chat.send("quay lại")
    await chat.send("tran hung dao")  # two schools share the name: both offered
    assert {"Trường Tiểu học Trần Hưng Đạo (Phường 8)", "Trường THCS Trần Hưng Đạo (Phường 8)"} <= set(chat.buttons())


# ----- 6. "Đã đưa: —" after "Chưa đưa gì" ---------------------------------------------------------------
async def test_summary_shows_none_of_these_as_the_parent_gave_it(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await _to_step(chat, "đưa cho họ thông tin nào")
    await chat.press("Chưa đưa gì")
    await chat.send("bỏ qua")
    await chat.press("ẩn danh")
    assert "• Đã đưa: Chưa đưa gì" in chat.text()
    assert "Đã đưa: —" not in chat.text()


# ----- 7. A blocklisted number still gets three more questions ------------------------------------------
@pytest.mark.parametrize("number", ["0569 999 888", "so 0569.999.888", "+84 569 999 888"])
async def test_a_blocklisted_number_is_answered_at_once_then_offered_to_report(sqlite_db: Database,
                                                                               number: str) -> None:
    await _directory(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Kiểm tra cuộc gọi")
    await chat.send(number)
    assert "tự xưng" not in chat.text()  # no more questions first
    assert "LỪA ĐẢO" in chat.text() and any("Báo cáo số này" in b for b in chat.buttons())


async def test_an_ask_for_an_otp_is_answered_at_once(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.send("có người gọi đòi mã OTP, xưng là cô giáo, có thật không")
    assert "LỪA ĐẢO" in chat.text() and any("Báo cáo" in b for b in chat.buttons())


# ----- 8. The link-check prompt has no buttons and "khong co link" repeats it ----------------------------
@pytest.mark.parametrize("none", ["khong co link", "không có", "ko biết link"])
async def test_every_prompt_has_a_way_out_and_understands_i_dont_have_it(sqlite_db: Database, none: str) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Kiểm tra đường link")
    assert "Về menu chính" in chat.buttons()
    await chat.send(none)
    assert "Dán đường link" not in chat.text()  # not the same prompt again
    assert {"📞 Kiểm tra cuộc gọi", "Về menu chính"} <= set(chat.buttons())
    await chat.press("Kiểm tra cuộc gọi")
    assert "Số điện thoại đã gọi" in chat.text()


async def test_a_question_in_a_form_offers_skip_back_and_menu(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Zalo")
    assert {"Bỏ qua", "Quay lại", "Về menu chính"} <= set(chat.buttons())
    await chat.send("không biết")  # a skippable question: skipped, not asked again
    assert "xảy ra lúc nào" in chat.text()


# ----- 9. On a first contact that is an emergency, the greeting buries the advice -------------------------
@pytest.mark.parametrize("first", ["tôi vừa chuyển khoản 5 triệu cho bọn lừa đảo", "em lo doc ma otp r",
                                   "tk bị trừ hết tiền rồi"])
async def test_first_contact_emergency_puts_the_advice_first_and_nothing_after_it(sqlite_db: Database,
                                                                                   first: str) -> None:
    engine = make_engine(sqlite_db)
    replies = await engine.handle(InboundMessage(channel="test", chat_id="p", user_id="p", message_id="1",
                                                 text=first))
    assert replies[0].urgent
    assert all(m.urgent or m.buttons for m in replies[1:])  # only the advice's own buttons follow it
    assert not any("Xin chào" in m.text for m in replies)
    chat = Chat(engine, chat_id="p", last=replies)
    await chat.press("Báo cáo ngay")
    assert "Xin chào" in chat.last[0].text  # the greeting and privacy notice, before the first question
    assert "liên lạc" in chat.text()
