"""The admins' account pages over real HTTP: list, create, change, disable, new password, TOTP; audited."""

from __future__ import annotations

from storage import audit, users
from tests.console.conftest import Account, Console, SignedInClient, sign_in


async def admin_client(console: Console) -> tuple[Account, SignedInClient]:
    admin = await console.make_user("admin@ca.vn", "admin", totp=True)
    return admin, await console.signed_in_client(admin)


async def trail(console: Console, user_id: int) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in reversed(await console.db.run(audit.entries, subject=f"user:{user_id}"))]


async def test_admin_creates_an_account_that_can_sign_in(console: Console) -> None:
    admin, client = await admin_client(console)
    await console.make_user("someone@ca.vn", unit="CA-TL")  # creates the unit CA-TL
    page = await client.get("/console/users")
    assert page.status_code == 200 and "someone@ca.vn" in page.text and 'value="CA-TL"' in page.text
    created = await client.form("/console/users", {"email": " New.Officer@CA.vn", "role": "officer",
                                                   "unit": "CA-TL", "telegram_id": "777", "password": "x" * 12,
                                                   "totp_required": "1"})
    assert created.status_code == 303 and created.headers["location"] == "/console/users?done=created"
    assert "Đã tạo tài khoản." in (await client.get(created.headers["location"])).text
    row = await console.db.run(users.get_user, email="new.officer@ca.vn")
    assert row is not None and row.unit_id == "CA-TL" and row.telegram_user_id == "777" and row.totp_required
    assert await trail(console, row.id) == [(f"officer:{admin.id}", "user.create"),
                                            (f"officer:{admin.id}", "user.totp_required")]
    # Required TOTP: the new officer signs in and is sent to enrolment first.
    response = await sign_in(console.client(), "new.officer@ca.vn", "x" * 12)
    assert response.headers["location"] == "/console/account/totp"


async def test_create_with_bad_input_keeps_the_form_and_says_why(console: Console) -> None:
    _admin, client = await admin_client(console)
    short = await client.form("/console/users", {"email": "a@ca.vn", "role": "officer", "unit": "CA-TT",
                                                 "password": "short"})
    assert short.status_code == 422 and "Mật khẩu phải có ít nhất 12 ký tự." in short.text
    assert 'value="a@ca.vn"' in short.text
    no_unit = await client.form("/console/users", {"email": "a@ca.vn", "role": "officer", "unit": "",
                                                   "password": "x" * 12})
    assert no_unit.status_code == 422 and "Cán bộ phải thuộc một đơn vị" in no_unit.text
    english = await client.form("/console/users?lang=en", {"email": "admin@ca.vn", "role": "admin",
                                                           "password": "x" * 12})
    assert english.status_code == 422 and "an account with the e-mail admin@ca.vn exists" in english.text
    assert [u.email for u in await console.db.run(users.list_users)] == ["admin@ca.vn"]


async def test_disable_ends_sessions_and_enable_restores(console: Console) -> None:
    admin, client = await admin_client(console)
    officer = await console.make_user("officer@ca.vn")
    officer_client = await console.signed_in_client(officer)
    disabled = await client.form(f"/console/users/{officer.id}", {"action": "disable"})
    assert disabled.status_code == 303
    assert (await officer_client.get("/console/account")).status_code == 303
    assert (await sign_in(console.client(), officer.email, officer.password)).status_code == 401
    assert (await client.form(f"/console/users/{officer.id}", {"action": "enable"})).status_code == 303
    assert (await sign_in(console.client(), officer.email, officer.password)).status_code == 303
    assert await trail(console, officer.id) == [
        ("test", "user.create"), (f"officer:{admin.id}", "user.disable"), ("anonymous", "login.failure"),
        (f"officer:{admin.id}", "user.enable"), (f"officer:{officer.id}", "login.success")]


async def test_new_password_ends_sessions(console: Console) -> None:
    _admin, client = await admin_client(console)
    officer = await console.make_user("officer@ca.vn")
    officer_client = await console.signed_in_client(officer)
    done = await client.form(f"/console/users/{officer.id}", {"action": "password", "password": "brand new password"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=password")
    assert (await officer_client.get("/console/account")).status_code == 303
    assert (await sign_in(console.client(), officer.email, officer.password)).status_code == 401
    assert (await sign_in(console.client(), officer.email, "brand new password")).status_code == 303


async def test_role_change_totp_reset_and_self_protection(console: Console) -> None:
    admin, client = await admin_client(console)
    chief = await console.make_user("chief@ca.vn", "supervisor", totp=True)
    unknown = await client.form(f"/console/users/{chief.id}", {"action": "update", "role": "officer",
                                                              "unit": "CA-TT"})
    assert unknown.status_code == 422 and "Không có đơn vị &#39;CA-TT&#39;." in unknown.text
    await console.make_user("officer@ca.vn", unit="CA-TT")  # now the unit exists
    changed = await client.form(f"/console/users/{chief.id}", {"action": "update", "role": "officer",
                                                              "unit": "CA-TT", "telegram_id": ""})
    assert changed.status_code == 303
    row = await console.db.run(users.get_user, user_id=chief.id)
    assert row is not None and (row.role, row.unit_id) == ("officer", "CA-TT")
    assert (await client.form(f"/console/users/{chief.id}", {"action": "totp_reset"})).status_code == 303
    row = await console.db.run(users.get_user, user_id=chief.id)
    assert row is not None and not row.totp_enabled
    myself = await client.form(f"/console/users/{admin.id}", {"action": "disable"})
    assert myself.status_code == 422 and "Bạn không thể tự khóa" in myself.text
    assert (await client.get("/console/users")).status_code == 200  # still an admin, still signed in
    assert (await client.form("/console/users/9999", {"action": "disable"})).status_code == 404
    assert (await client.form(f"/console/users/{chief.id}", {"action": "explode"})).status_code == 422


async def test_only_admins_and_only_with_the_token(console: Console) -> None:
    _admin, client = await admin_client(console)
    chief = await console.make_user("chief@ca.vn", "supervisor", totp=True)
    chief_client = await console.signed_in_client(chief)
    assert (await chief_client.get("/console/users")).status_code == 403
    assert (await chief_client.form(f"/console/users/{chief.id}", {"action": "totp_reset"})).status_code == 403
    forged = await client.post(f"/console/users/{chief.id}", data={"action": "disable"})
    assert forged.status_code == 403
    row = await console.db.run(users.get_user, user_id=chief.id)
    assert row is not None and not row.disabled and row.totp_enabled


async def test_account_page_and_texts_in_both_languages(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    vi = await client.get("/console/account")
    en = await client.get("/console/account?lang=en")
    assert "Tài khoản của tôi" in vi.text and "Đăng xuất khỏi mọi thiết bị" in vi.text
    assert "My account" in en.text and "Sign out on every device" in en.text and "Officer" in en.text
    login_en = await console.client().get("/console/login?lang=en")
    assert "Work e-mail" in login_en.text and "Mật khẩu" not in login_en.text
