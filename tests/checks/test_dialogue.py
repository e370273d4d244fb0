"""DirectoryChecker: the check steps of the conversation."""

from typing import Any

import pytest

from handlers.checking import Checker, CheckOutcome
from handlers.checks.dialogue import DirectoryChecker, request_from_slots
from storage.db import Database
from tests.chat import TEST_CIPHER


def as_checker() -> Checker:
    return DirectoryChecker(TEST_CIPHER)  # type-checks against the Protocol


async def run(db: Database, kind: str = "call", locale: str = "vi", **slots: Any) -> CheckOutcome:
    return await db.run(lambda c: as_checker().run(c, kind=kind, slots=slots, locale=locale))


async def test_call_check_shows_verdict_reasons_callback_numbers_and_advice(seeded_sqlite):
    outcome = await run(seeded_sqlite, caller_number="+84912345678", claimed_role="homeroom_teacher",
                        school="THCS Nguyễn Trãi", asked=["otp", "nothing"])
    assert outcome.verdict == "scam"
    verdict, callback, advice = outcome.messages
    assert verdict.text.startswith("🚫 LỪA ĐẢO") and "🔴 Họ đòi mã OTP" in verdict.text
    assert "🟠 Số 0912 345 678 không có trong danh sách" in verdict.text
    assert callback.text.startswith("📞 Số chính thức của Trường THCS Nguyễn Trãi: 0290 3831 234, 0912 000 111")
    assert "113" in advice.text and "0290 3831 234" not in advice.text  # the numbers are in their own message
    assert outcome.result["school"] == {"id": "CM-THCS-NT", "name": "Trường THCS Nguyễn Trãi"}
    assert [r["code"] for r in outcome.result["reasons"]] == ["asks_otp", "phone_not_official"]


async def test_english(seeded_sqlite):
    outcome = await run(seeded_sqlite, locale="en", caller_number="+842903831234", school="Nguyễn Trãi Tân Thành")
    assert outcome.verdict == "no_red_flags"
    assert outcome.messages[0].text.startswith("✅ No clear red flags")
    assert "is an official number of" in outcome.messages[0].text
    assert outcome.messages[1].text.startswith("📞 Official numbers of")
    assert outcome.result["reasons"][0]["message"].startswith("Số")  # the stored result stays in Vietnamese


async def test_link_check_puts_links_apart_and_never_makes_them_tappable(seeded_sqlite):
    message = "Phụ huynh tải ứng dụng tại https://vnedu-app.com/sll.apk hoặc bit.ly/sll"
    outcome = await run(seeded_sqlite, kind="link", link="https://vnedu-app.com/sll.apk", message_text=message,
                        other_links=["bit.ly/sll"])
    first = outcome.messages[0]
    assert first.links == ("https://vnedu-app.com/sll.apk", "bit.ly/sll")
    assert "vnedu-app.com" not in first.text and "vnedu-app[.]com" in first.text
    assert {"url_lookalike", "url_apk", "url_shortener", "asks_install_app"} <= {
        r["code"] for r in outcome.result["reasons"]}
    assert len(outcome.messages) == 2  # no school matched: no call-back message


async def test_matched_school_dict_and_a_school_without_phones(seeded_sqlite):
    outcome = await run(seeded_sqlite, caller_number="0290 3811 000",
                        school={"id": "CM-THCS-TC", "name": "Trường TH&THCS Trường Chinh"})
    assert [r["code"] for r in outcome.result["reasons"]] == ["phone_official"]
    unknown = await run(seeded_sqlite, caller_number="0912 345 678", school={"id": "gone", "name": "THCS Cũ"})
    assert unknown.result["school"] is None
    assert "THCS Cũ" in unknown.result["reasons"][0]["message"]


def test_slots_the_check_does_not_know_are_ignored():
    request = request_from_slots({"claimed_role": "janitor", "asked": ["otp", "nothing", "password"],
                                  "school": "  ", "other_links": "not a list", "link": 42, "message_text": ""})
    assert request.claimed_role is None and request.asked == ("otp",)
    assert request.school is None and request.extra_urls == () and request.url is None and request.text is None


async def test_unknown_checker_kind(seeded_sqlite):
    with pytest.raises(ValueError, match="unknown checker"):
        await run(seeded_sqlite, kind="email")
