"""Signing in to the console over real HTTP: passwords, lockouts, TOTP, cookies, sessions, CSRF, redirects."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa

from bot.console.auth import COOKIE, safe_next
from storage import audit
from storage.users_schema import console_sessions
from storage.users_sessions import token_hash
from tests.console.conftest import Console, csrf_of, sign_in

MakeConsole = Callable[..., AbstractAsyncContextManager[Console]]
WRONG = "Sai e-mail hoặc mật khẩu."
LOCKED = "Đăng nhập sai quá nhiều lần"


def session_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}=") and not header.startswith(f'{COOKIE}="";'):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie set: {response.headers.get_list('set-cookie')}")


async def actions(console: Console, subject: str) -> list[str]:
    return [e["action"] for e in reversed(await console.db.run(audit.entries, subject=subject))]


async def test_right_password_signs_in_and_lands_by_role(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    admin = await console.make_user("admin@ca.vn", "admin", totp=True)
    response = await sign_in(console.client(), " Officer@CA.vn ", officer.password)
    assert response.status_code == 303 and response.headers["location"] == "/console/queue"
    response = await sign_in(console.client(), "admin@ca.vn", admin.password, code=admin.code())
    assert response.status_code == 303 and response.headers["location"] == "/console/users"
    assert await actions(console, f"user:{officer.id}") == ["user.create", "login.success"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    wrong = await sign_in(console.client(), "officer@ca.vn", "not the password at all")
    unknown = await sign_in(console.client(), "nobody@ca.vn", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert WRONG in wrong.text and WRONG in unknown.text
    assert not any(h.startswith(COOKIE + "=") for h in wrong.headers.get_list("set-cookie"))
    assert await actions(console, f"user:{officer.id}") == ["user.create", "login.failure"]
    assert "login.failure" in await actions(console, "user:unknown")
    # The audit log names the account by id, never by the e-mail typed.
    rows = await console.db.run(audit.entries, limit=50)
    assert not any("@" in (r["subject"] + r["actor"] + (r["detail"] or "")) for r in rows)


@pytest.mark.slow  # ~2 s: a console restarted
async def test_lockout_per_account_survives_a_restart_and_hides_which_emails_exist(
        make_console: MakeConsole) -> None:
    settings: dict[str, Any] = {"console": {"login_max_failures": 3, "login_lock_minutes": 15}}
    async with make_console(**settings) as first:
        officer = await first.make_user("officer@ca.vn")
        for email in ("officer@ca.vn", "ghost@ca.vn"):
            answers = [await sign_in(first.client(), email, "wrong password, again") for _ in range(3)]
            assert [a.status_code for a in answers] == [401, 401, 429]
            assert LOCKED in answers[-1].text
        locked = await sign_in(first.client(), "officer@ca.vn", officer.password)
        assert locked.status_code == 429 and LOCKED in locked.text
        assert "login.lockout" in await actions(first, f"user:{officer.id}")
        path = first.tmp_path
    async with make_console(path=path, **settings) as again:  # the same database, a new process's memory
        still = await sign_in(again.client(), "officer@ca.vn", officer.password)
        assert still.status_code == 429 and LOCKED in still.text
        ghost = await sign_in(again.client(), "ghost@ca.vn", officer.password)
        assert ghost.status_code == 429 and ghost.text.count(LOCKED) == still.text.count(LOCKED)


async def test_lockout_ends_after_its_time(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    for _ in range(console.settings.console.login_max_failures):
        await sign_in(console.client(), "officer@ca.vn", "wrong password, again")
    assert (await sign_in(console.client(), "officer@ca.vn", officer.password)).status_code == 429
    past = datetime.now(UTC) - timedelta(minutes=console.settings.console.login_lock_minutes + 1)
    await console.db.run(lambda c: c.execute(sa.text("UPDATE console_login_limits SET locked_until = :t "
                                                     "WHERE kind = 'account'"), {"t": past}))
    assert (await sign_in(console.client(), "officer@ca.vn", officer.password)).status_code == 303


async def test_per_address_limit_across_accounts(make_console: MakeConsole) -> None:
    async with make_console(console={"login_ip_per_hour": 3, "login_max_failures": 10},
                            server={"trusted_proxies": ["127.0.0.1/32"]}) as console:
        officer = await console.make_user("officer@ca.vn")
        guesser = console.client(headers={"X-Forwarded-For": "198.51.100.9"})
        for n in range(3):
            assert (await sign_in(guesser, f"person{n}@ca.vn", "a guess at the password")).status_code == 401
        refused = await sign_in(guesser, "officer@ca.vn", officer.password)
        assert refused.status_code == 429 and "từ địa chỉ này" in refused.text
        elsewhere = console.client(headers={"X-Forwarded-For": "203.0.113.50"})
        assert (await sign_in(elsewhere, "officer@ca.vn", officer.password)).status_code == 303


async def test_disabled_account_cannot_sign_in(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    from storage import users

    await console.db.run(users.set_disabled, user_id=officer.id, disabled=True, actor="test",
                         now=datetime.now(UTC))
    assert (await client.get("/console/account")).status_code == 303  # the session ended with it
    response = await sign_in(console.client(), "officer@ca.vn", officer.password)
    assert response.status_code == 401 and WRONG in response.text


async def test_totp_step_and_a_used_code_is_refused(console: Console) -> None:
    supervisor = await console.make_user("chief@ca.vn", "supervisor", totp=True)
    client = console.client()
    after_password = await sign_in(client, "chief@ca.vn", supervisor.password)
    assert after_password.headers["location"] == "/console/login/totp"
    # The half-signed-in session opens nothing but the code page.
    assert (await client.get("/console/account")).headers["location"].startswith("/console/login")
    code = supervisor.code()
    wrong = "000000" if code != "000000" else "111111"
    step = await client.get("/console/login/totp")
    bad = await client.post("/console/login/totp", data={"csrf": csrf_of(step.text), "code": wrong})
    assert bad.status_code == 401 and "Mã không đúng" in bad.text
    good = await client.post("/console/login/totp", data={"csrf": csrf_of(step.text), "code": code})
    assert good.status_code == 303 and good.headers["location"] == "/console/queue"
    assert (await client.get("/console/account")).status_code == 200
    # The same code again, from another browser with the right password: refused.
    replay = await sign_in(console.client(), "chief@ca.vn", supervisor.password, code=code)
    assert replay.status_code == 401 and "Mã không đúng" in replay.text
    assert await actions(console, f"user:{supervisor.id}") == [
        "user.create", "user.totp_enrol", "login.failure", "login.success", "login.failure"]


async def test_codes_one_step_either_side_are_accepted(console: Console) -> None:
    supervisor = await console.make_user("chief@ca.vn", "supervisor", totp=True)
    early = await sign_in(console.client(), "chief@ca.vn", supervisor.password, code=supervisor.code(offset=-1))
    assert early.status_code == 303
    too_late = await sign_in(console.client(), "chief@ca.vn", supervisor.password,
                             code=supervisor.code(offset=5))
    assert too_late.status_code == 401


async def test_required_totp_sends_to_enrolment_first(console: Console) -> None:
    admin = await console.make_user("admin@ca.vn", "admin")  # admins must use TOTP by default
    client = console.client()
    response = await sign_in(client, "admin@ca.vn", admin.password, next_path="/console/users")
    assert response.headers["location"] == "/console/account/totp"
    assert (await client.get("/console/users")).headers["location"] == "/console/account/totp"
    page = await client.get("/console/account/totp")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    assert "style-src 'self'" in page.headers["content-security-policy"]
    secret = page.text.split('class="mono secret">', 1)[1].split("<", 1)[0].replace(" ", "")
    form = {"csrf": csrf_of(page.text), "enrolment": page.text.split('name="enrolment" value="', 1)[1].split('"')[0]}
    assert (await client.post("/console/account/totp", data={**form, "code": "000000" if pyotp.TOTP(
        secret).now() != "000000" else "111111"})).status_code == 422
    done = await client.post("/console/account/totp", data={**form, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303 and done.headers["location"] == "/console/users"
    assert (await client.get("/console/users")).status_code == 200
    assert "user.totp_enrol" in await actions(console, f"user:{admin.id}")


async def test_cookie_flags(console: Console, make_console: MakeConsole) -> None:
    officer = await console.make_user("officer@ca.vn")
    response = await sign_in(console.client(), "officer@ca.vn", officer.password)
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    flags = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "path=/console", "samesite=strict"} <= flags and "secure" not in flags
    assert not any(f.startswith(("max-age", "expires")) for f in flags)
    assert len(session_cookie(response)) >= 43  # 256 bits, URL-safe base64
    async with make_console(console={"cookie_secure": True}) as secure:
        officer = await secure.make_user("officer@ca.vn")
        client = secure.client()
        page = await client.get("/console/login")
        assert "Secure" in page.headers["set-cookie"]
        # httpx keeps Secure cookies off plain http, as a browser would: send the form token by hand.
        token = csrf_of(page.text)
        response = await client.post("/console/login", headers={"Cookie": f"hotline_console_login={token}"},
                                     data={"csrf": csrf_of(page.text), "email": officer.email,
                                           "password": officer.password})
        headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
        assert len(headers) == 1 and "secure" in {part.strip().lower() for part in headers[0].split(";")}


async def test_session_id_rotates_at_each_step_of_sign_in(console: Console) -> None:
    supervisor = await console.make_user("chief@ca.vn", "supervisor", totp=True)
    earlier = await console.signed_in_client(supervisor)
    client = console.client()
    page = await client.get("/console/login")
    # The browser still holds an earlier session's id (or one an attacker planted).
    client.cookies.set(COOKIE, earlier.session_token, domain="127.0.0.1", path="/console")
    after_password = await client.post("/console/login", data={
        "csrf": csrf_of(page.text), "email": "chief@ca.vn", "password": supervisor.password})
    pending = session_cookie(after_password)
    assert pending != earlier.session_token
    step = await client.get("/console/login/totp")
    done = await client.post("/console/login/totp", data={"csrf": csrf_of(step.text), "code": supervisor.code()})
    full = session_cookie(done)
    assert full not in (pending, earlier.session_token)
    stored = set(await console.db.run(lambda c: list(c.execute(sa.select(console_sessions.c.id_hash)).scalars())))
    assert stored == {token_hash(full)}  # neither the earlier nor the pending id opens anything now
    assert (await earlier.get("/console/account")).status_code == 303


async def test_idle_and_absolute_expiry(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    assert (await client.get("/console/account")).status_code == 200
    idle = timedelta(minutes=console.settings.console.session_idle_minutes + 1)
    await console.db.run(lambda c: c.execute(sa.update(console_sessions).values(
        last_seen_at=datetime.now(UTC) - idle)))
    expired = await client.get("/console/account?x=1")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/login?next=%2Fconsole%2Faccount%3Fx%3D1"
    assert await console.db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(console_sessions))
                                .scalar_one()) == 0
    busy = await console.signed_in_client(officer)
    old = timedelta(hours=console.settings.console.session_max_hours, minutes=1)
    await console.db.run(lambda c: c.execute(sa.update(console_sessions).values(
        created_at=datetime.now(UTC) - old)))
    assert (await busy.get("/console/account")).status_code == 303  # active all along, but too old


async def test_not_signed_in_post_gets_a_401_page(console: Console) -> None:
    response = await console.client().post("/console/logout-everywhere", data={"csrf": "x"})
    assert response.status_code == 401 and response.headers["content-type"].startswith("text/html")
    assert "Cần đăng nhập" in response.text


async def test_logout_and_logout_everywhere(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    phone, desk, laptop = [await console.signed_in_client(officer) for _ in range(3)]
    out = await phone.form("/console/logout")
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert (await phone.get("/console/account")).status_code == 303
    assert (await desk.get("/console/account")).status_code == 200
    everywhere = await desk.form("/console/logout-everywhere")
    assert everywhere.status_code == 303
    assert (await desk.get("/console/account")).status_code == 303
    assert (await laptop.get("/console/account")).status_code == 303
    assert await actions(console, f"user:{officer.id}") == ["user.create", "logout", "logout.everywhere"]


async def test_forms_without_the_csrf_token_are_refused(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    missing = await client.post("/console/logout-everywhere", data={})
    wrong = await client.post("/console/logout-everywhere", data={"csrf": client.csrf[:-1] + "x"})
    other_site = await client.form("/console/logout-everywhere", headers={"Origin": "https://evil.example"})
    forged_logout = await client.post("/console/logout", data={})
    multipart = await client.post("/console/logout-everywhere", files={"f": ("a.txt", b"x")})
    for response in (missing, wrong, other_site, forged_logout, multipart):
        assert response.status_code == 403 and "Yêu cầu bị từ chối" in response.text
    assert (await client.get("/console/account")).status_code == 200  # still signed in
    login_page = console.client()
    await login_page.get("/console/login")
    no_token = await login_page.post("/console/login", data={"email": "officer@ca.vn", "password": officer.password})
    assert no_token.status_code == 403
    ok = await client.form("/console/logout-everywhere", files={"f": ("a.txt", b"x")})  # multipart with token
    assert ok.status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/console", "https://evil.example/console/queue",
                                    "/\\evil.example", "/console\\@evil.example", "javascript:alert(1)",
                                    "/api/v1/check", "/console/login?next=//evil.example", " /console/queue"])
async def test_open_redirect_in_next_is_refused(console: Console, target: str) -> None:
    officer = await console.make_user("officer@ca.vn")
    response = await sign_in(console.client(), "officer@ca.vn", officer.password, next_path=target)
    assert response.status_code == 303 and response.headers["location"] == "/console/queue"


async def test_next_inside_the_console_is_followed(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = console.client()
    first = await client.get("/console/tips/TG-2026-000001?tab=notes")
    assert first.headers["location"] == "/console/login?next=%2Fconsole%2Ftips%2FTG-2026-000001%3Ftab%3Dnotes"
    target = "/console/tips/TG-2026-000001?tab=notes"
    response = await sign_in(client, "officer@ca.vn", officer.password, next_path=target)
    assert response.headers["location"] == target


def test_safe_next() -> None:
    assert safe_next("/console/queue?status=new") == "/console/queue?status=new"
    assert safe_next("/console") == "/console"
    for bad in ("//x", "/\\x", "http://x/console", "/consolex", "/console/login", "", None, "/console/\r\nx"):
        assert safe_next(bad) is None, bad


async def test_other_roles_get_403(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    response = await client.get("/console/users")
    assert response.status_code == 403 and "Không có quyền" in response.text


async def test_a_link_from_another_site_reaches_a_signed_in_officer(console: Console) -> None:
    officer = await console.make_user("officer@ca.vn")
    client = await console.signed_in_client(officer)
    # The browser leaves the SameSite=Strict cookie off a cross-site navigation: the page loads itself again.
    arrived = await console.client().get("/console/login", params={"next": "/console/tips/TG-2026-000001"},
                                         headers={"Sec-Fetch-Site": "cross-site"})
    assert ('<meta http-equiv="refresh" content="0;url=/console/login?again=1&amp;next=%2Fconsole%2Ftips%2F'
            'TG-2026-000001">') in arrived.text
    again = await client.get("/console/login?again=1&next=%2Fconsole%2Ftips%2FTG-2026-000001",
                             headers={"Sec-Fetch-Site": "same-origin"})
    assert again.status_code == 303 and again.headers["location"] == "/console/tips/TG-2026-000001"
    no_loop = await console.client().get("/console/login?again=1", headers={"Sec-Fetch-Site": "cross-site"})
    assert no_loop.status_code == 200 and "http-equiv" not in no_loop.text


async def test_the_console_home_as_next_lands_by_role(console: Console) -> None:
    admin = await console.make_user("admin@ca.vn", "admin", totp=True)
    response = await sign_in(console.client(), "admin@ca.vn", admin.password, code=admin.code(),
                             next_path="/console/queue")
    assert response.headers["location"] == "/console/users"
