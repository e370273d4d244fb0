"""The rules, with hand-made facts: no database needed, every branch reachable."""

from typing import Any

import pytest

from handlers.checks import REASON_CODES, CheckRequest, CheckResult, Facts, SchoolRef, analyse, evaluate
from handlers.checks.codes import Finding, score_for, verdict_for

NT = SchoolRef("NT", "Trường THCS Nguyễn Trãi", ("+842903831234",))
LL = SchoolRef("LL", "Trường THPT Lê Lợi", ("+842903822333",))
OWNERS = {"+842903831234": (NT,), "+842903822333": (LL,)}


def run(facts: Facts | None = None, **fields: Any) -> CheckResult:
    return evaluate(analyse(CheckRequest(**fields)), facts or Facts())


def reasons(result: CheckResult) -> dict[str, str]:
    return {r.code: r.severity for r in result.reasons()}


@pytest.mark.parametrize(("asked", "code", "severity"), [
    ("otp", "asks_otp", "high"), ("bank_account", "asks_bank_account", "high"),
    ("money_transfer", "asks_money_transfer", "high"), ("install_app", "asks_install_app", "high"),
    ("personal_info", "asks_personal_info", "medium"), ("student_id_code", "asks_student_id_code", "medium"),
])
def test_each_ask(asked, code, severity):
    assert reasons(run(asked=(asked,))) == {code: severity}


def test_click_link_alone_is_no_reason_but_advice_says_paste_it():
    result = run(asked=("click_link",))
    assert result.reasons() == [] and result.verdict == "no_red_flags"
    assert "dán link" in result.advice()


def test_asks_hold_even_from_the_schools_own_number():
    result = run(Facts(candidates=(NT,), phone_owners=OWNERS), phone="0290 3831 234", school="Nguyễn Trãi",
                 claimed_role="homeroom_teacher", asked=("otp",))
    assert reasons(result) == {"asks_otp": "high", "phone_official": "info"}
    assert result.verdict == "scam"


def test_phone_official_for_the_named_school():
    result = run(Facts(candidates=(NT,), phone_owners=OWNERS), phone="02903831234", school="nguyen trai")
    assert reasons(result) == {"phone_official": "info"}
    assert result.school == NT and result.verdict == "no_red_flags"


def test_phone_official_in_any_school_when_none_is_named_names_that_school():
    result = run(Facts(phone_owners=OWNERS), phone="0290 3822 333")
    assert reasons(result) == {"phone_official": "info"}
    assert result.school == LL
    assert "Lê Lợi" in result.reasons()[0].message


def test_another_schools_number_is_not_official_for_this_one():
    result = run(Facts(candidates=(NT,), phone_owners=OWNERS), phone="0290 3822 333", school="Nguyễn Trãi")
    assert reasons(result) == {"phone_not_official": "medium"}
    assert "Lê Lợi" in result.reasons()[0].message


def test_school_role_without_school_and_unknown_number():
    result = run(phone="0912 345 678", claimed_role="teacher")
    assert reasons(result) == {"phone_not_official": "medium"}
    assert "giáo viên" in result.reasons()[0].message
    assert "teacher" in result.reasons("en")[0].message


@pytest.mark.parametrize("role", ["police", "bank", "education_department", "other", None])
def test_non_school_roles_without_school_say_nothing_about_the_number(role):
    assert reasons(run(phone="0912 345 678", claimed_role=role)) == {}


def test_named_school_not_in_directory():
    result = run(phone="0912 345 678", school="THCS Không Có")
    assert reasons(result) == {"phone_not_official": "medium"}
    assert "THCS Không Có" in result.reasons()[0].message and result.school is None


def test_ambiguous_name_is_settled_by_the_number():
    result = run(Facts(candidates=(NT, LL), phone_owners=OWNERS), phone="0290 3822 333", school="Lê")
    assert result.school == LL and reasons(result) == {"phone_official": "info"}


def test_ambiguous_name_and_unknown_number():
    result = run(Facts(candidates=(NT, LL), phone_owners=OWNERS), phone="0912 345 678", school="Lê")
    assert result.school is None and reasons(result) == {"phone_not_official": "medium"}


def test_premium_1900_is_never_official_even_if_listed():
    facts = Facts(candidates=(NT,), phone_owners={"+8419005555": (NT,)})
    result = run(facts, phone="1900 5555", school="Nguyễn Trãi")
    assert reasons(result) == {"phone_not_official": "medium"}
    assert "1900" in result.reasons()[0].message
    unnamed = Facts(phone_owners=facts.phone_owners)
    assert reasons(run(unnamed, phone="1900 5555")) == {}  # no school, no role: nothing to compare with
    assert reasons(run(unnamed, phone="1900 5555", claimed_role="principal")) == {"phone_not_official": "medium"}


def test_blocklisted_and_reported_phone():
    facts = Facts(blocked=frozenset({("phone", "+84377123999")}), reports={("phone", "+84377123999"): 2})
    assert reasons(run(facts, phone="0377 123 999")) == {"phone_blocklisted": "high", "phone_reported": "medium"}


def test_one_unconfirmed_report_does_not_count():
    assert reasons(run(Facts(reports={("phone", "+84912345678"): 1}), phone="0912345678")) == {}


@pytest.mark.parametrize(("count", "severity"), [(2, "medium"), (3, "high"), (7, "high")])
def test_phone_reported_becomes_high_from_three_reporters(count, severity):
    result = run(Facts(reports={("phone", "+84912345678"): count}), phone="0912345678")
    assert reasons(result) == {"phone_reported": severity}
    assert str(count) in result.reasons()[0].message


def test_foreign_and_invalid_numbers():
    assert reasons(run(phone="+855 12 345 678")) == {"phone_foreign": "medium"}
    assert reasons(run(phone="0123 456")) == {"phone_invalid": "medium"}
    # An invalid number is not compared with the directory.
    assert reasons(run(phone="0123 456", school="X", claimed_role="teacher")) == {"phone_invalid": "medium"}


def test_foreign_number_for_a_named_school_is_both():
    result = run(Facts(candidates=(NT,)), phone="+1 650 253 0000", school="Nguyễn Trãi")
    assert reasons(result) == {"phone_foreign": "medium", "phone_not_official": "medium"}


@pytest.mark.parametrize(("url", "expected"), [
    ("https://hocbadientu.vnedu.vn/", {"url_official": "info"}),
    ("HTTPS://EMISAPP.MISA.VN", {"url_official": "info"}),
    ("http://smas.edu.vn", {"url_official": "info", "url_not_https": "low"}),
    ("vnedu.vn.evil.com", {"url_lookalike": "high"}),
    ("https://vnedu.vn@evil.site", {"url_lookalike": "high"}),
    ("https://example.com/app.APK", {"url_apk": "high"}),
    ("https://bit.ly/3abc", {"url_shortener": "medium"}),
    ("http://103.1.2.3/login", {"url_ip_literal": "medium", "url_not_https": "low"}),
    ("https://example.com/", {}),
    ("https://gdla.gov.vn/", {}),  # .gov.vn proves nothing, but without a claimed role it is not flagged
    ("https://play.google.com/store/apps/details?id=vn.vnpt.vnedu", {}),
])
def test_links_without_context(url, expected):
    assert reasons(run(url=url)) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://gdla.gov.vn/", {"url_unknown_domain": "medium"}),
    ("https://example.com/", {"url_unknown_domain": "medium"}),
    ("https://vnedu.vn/", {"url_official": "info"}),
    ("https://play.google.com/store/apps/details?id=x", {}),
    ("https://apps.apple.com/vn/app/x/id1", {}),
])
def test_links_when_a_school_role_is_claimed(url, expected):
    assert reasons(run(url=url, claimed_role="homeroom_teacher")) == expected


def test_unverified_domain_is_unknown_not_lookalike():
    assert reasons(run(url="https://smas.vn/")) == {"url_unknown_domain": "medium"}


def test_blocklisted_domain_or_any_parent():
    facts = Facts(blocked=frozenset({("domain", "evil.com.vn")}))
    assert reasons(run(facts, url="https://a.b.evil.com.vn/x")) == {"url_blocklisted": "high"}
    assert reasons(run(facts, url="https://notevil.com.vn/x")) == {}


@pytest.mark.parametrize(("count", "severity"), [(2, "medium"), (3, "high")])
def test_reported_domain(count, severity):
    result = run(Facts(reports={("domain", "evil.com"): count}), url="https://www.evil.com/")
    assert reasons(result) == {"url_reported": severity}


def test_school_website_is_official():
    facts = Facts(site_owners={"thcsnguyentrai.edu.vn": (NT,)})
    assert reasons(run(facts, url="thcsnguyentrai.edu.vn/tb", claimed_role="principal")) == {"url_official": "info"}


def test_never_official_and_lookalike_nor_both_phone_verdicts():
    facts = Facts(candidates=(NT,), phone_owners=OWNERS)
    text = ("Trường THCS Nguyễn Trãi (ĐT 0290 3831 234) thông báo: tra cứu tại vnedu.vn hoặc vnedu-hocba.com, "
            "Zalo 0912 345 678")
    result = run(facts, school="Nguyễn Trãi", text=text)
    found = reasons(result)
    assert "url_lookalike" in found and "url_official" not in found
    assert "phone_not_official" in found and "phone_official" not in found


def test_every_reason_code_has_texts_in_both_languages():
    from handlers.checks.texts import REASONS

    for code in REASON_CODES:
        variants = [k for k in REASONS if k == code or k.startswith(code + ":")]
        assert variants, code
        for key in variants:
            assert REASONS[key]["vi"] and REASONS[key]["en"], key


@pytest.mark.parametrize(("severities", "verdict", "low", "high"), [
    ((), "no_red_flags", 0, 0), (("info",), "no_red_flags", 0, 0), (("low",), "no_red_flags", 1, 20),
    (("low",) * 5, "no_red_flags", 1, 20), (("medium",), "suspicious", 35, 65), (("medium",) * 9, "suspicious", 35, 65),
    (("high",), "scam", 70, 100), (("high",) * 9 + ("medium",) * 9, "scam", 70, 100),
])
def test_verdict_and_score_bands_agree(severities, verdict, low, high):
    findings = [Finding("asks_otp", s) for s in severities]
    assert verdict_for(findings) == verdict
    assert low <= score_for(findings) <= high


def test_same_code_for_several_subjects_is_one_reason():
    result = run(text="Xem tại bit.ly/a hoặc tinyurl.com/b")
    shortener = [r for r in result.reasons() if r.code == "url_shortener"]
    assert len(shortener) == 1 and "bit[.]ly" in shortener[0].message and "tinyurl[.]com" in shortener[0].message


def test_english_rendering():
    result = run(asked=("otp",), url="bit.ly/x")
    assert result.to_json("en")["reasons"][0]["message"].startswith("They asked for an OTP")
    assert result.advice("en").startswith("This is a scam")
