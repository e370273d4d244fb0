"""POST /api/v1/check through a small app that mounts only this router."""

import httpx
import pytest
from fastapi import FastAPI

from bot.api_check import router
from tests.chat import TEST_CIPHER


@pytest.fixture
async def client(seeded):
    app = FastAPI()
    app.include_router(router)
    app.state.db = seeded
    app.state.cipher = TEST_CIPHER  # the keys the seeded reports were counted under
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_check_over_http(client):
    response = await client.post("/api/v1/check", json={
        "phone": "0912 345 678", "school": "thcs nguyen trai", "claimed_role": "homeroom_teacher",
        "asked": ["otp", "otp", "personal_info"], "url": "https://vnedu.vn@evil.site/x"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"verdict", "score", "reasons", "school", "advice"}
    assert data["verdict"] == "scam" and 70 <= data["score"] <= 100
    assert [r["code"] for r in data["reasons"]] == [
        "asks_otp", "url_lookalike", "asks_personal_info", "phone_not_official", "url_unknown_domain"]
    assert data["school"] == {"id": "CM-THCS-NT", "name": "Trường THCS Nguyễn Trãi"}


async def test_no_red_flags_still_advises_calling_back(client):
    body = {"phone": "0290 3831 234", "school": "Nguyễn Trãi Tân Thành"}
    data = (await client.post("/api/v1/check", json=body)).json()
    assert data["verdict"] == "no_red_flags" and data["score"] == 0
    assert "gọi lại nhà trường theo số chính thức" in data["advice"]


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"phone": "0912000111", "claimed_role": "janitor"}, "claimed_role", "principal"),
    ({"asked": ["otp", "password"]}, "asked", "otp"),
    ({"asked": "otp"}, "asked", "list"),
    ({"url": "not a link"}, "url", "not a web address"),
    ({"phone": "0912000111", "colour": "red"}, "colour", "Extra inputs"),
    ({"school": "THCS A"}, None, "give at least one of"),
    ({"text": "x" * 10_001}, "text", "at most"),
])
async def test_bad_requests_are_422_with_a_clear_message(client, body, field, text):
    response = await client.post("/api/v1/check", json=body)
    assert response.status_code == 422
    error = response.json()["error"]  # the one error shape of every JSON endpoint
    assert (field is None or field in error["message"]) and text in error["message"], error
    assert "x" * 100 not in error["message"]  # the input is not echoed back
