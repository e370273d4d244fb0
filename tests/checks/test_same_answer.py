"""Done-when: the pure function, the CLI --json, the HTTP API and the dialogue agree for the same input."""

import asyncio
import base64
import json
from typing import Any

import httpx
from click.testing import CliRunner
from fastapi import FastAPI

from bot.api_check import router
from bot.cli_check import check_command
from handlers.checks import CheckRequest, check
from handlers.checks.dialogue import DirectoryChecker
from storage.crypto import write_key_file
from storage.db import Database
from storage.migrate import upgrade
from tests.chat import TEST_CIPHER

from .conftest import _seed

FIELDS: dict[str, Any] = {
    "phone": "0290 3822 333",
    "url": "https://vnеdu.vn/dang-nhap",
    "school": "thcs nguyen trai",
    "claimed_role": "homeroom_teacher",
    "asked": ["personal_info", "click_link"],
    "text": "Cô chủ nhiệm nhắn: phụ huynh ck học phí qua stk, chi tiết tại bit.ly/hp2026 hoặc gọi 0388 000 222",
}


def test_same_json_everywhere(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'same.db'}"

    async def direct_and_http() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        db = Database(url)
        try:
            await upgrade(db)
            await db.run(_seed)
            request = CheckRequest(**{**FIELDS, "asked": tuple(FIELDS["asked"])})
            direct = (await db.run(check, request, cipher=TEST_CIPHER)).to_json()
            slots = {"caller_number": FIELDS["phone"], "link": FIELDS["url"], "school": FIELDS["school"],
                     "claimed_role": FIELDS["claimed_role"], "asked": FIELDS["asked"] + ["nothing"],
                     "message_text": FIELDS["text"]}
            checker = DirectoryChecker(TEST_CIPHER)
            dialogue = await db.run(lambda c: checker.run(c, kind="call", slots=slots, locale="vi"))
            app = FastAPI()
            app.include_router(router)
            app.state.db = db
            app.state.cipher = TEST_CIPHER
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                http = (await client.post("/api/v1/check", json=FIELDS)).json()
            return direct, dict(dialogue.result), http
        finally:
            await db.dispose()

    direct, dialogue, http = asyncio.run(direct_and_http())
    args = ["--phone", FIELDS["phone"], "--url", FIELDS["url"], "--school", FIELDS["school"],
            "--claimed-role", FIELDS["claimed_role"], "--asked", ",".join(FIELDS["asked"]), "--text", FIELDS["text"],
            "--json"]
    config = tmp_path / "config.yaml"
    config.write_text("# test\n", encoding="utf-8")
    # The CLI reads its keys from a file: the same keys the reports were counted under.
    keys = tmp_path / "keys.json"
    write_key_file(keys, {"current": TEST_CIPHER.current, "index_key": base64.b64encode(TEST_CIPHER.index_key).decode(),
                          "keys": {k: base64.b64encode(v).decode() for k, v in TEST_CIPHER.keys.items()}})
    env = {"HOTLINE_DATABASE__URL": url, "HOTLINE_CONFIG": str(config), "HOTLINE_SECURITY__KEY_FILE": str(keys)}
    cli = json.loads(CliRunner().invoke(check_command, args, env=env, catch_exceptions=False).stdout)
    assert direct == cli == http == dialogue
    assert direct["verdict"] == "scam"
    assert {r["code"] for r in direct["reasons"]} == {
        "asks_bank_account", "asks_money_transfer", "asks_personal_info", "url_lookalike", "url_shortener",
        "url_unknown_domain", "phone_not_official", "phone_reported"}
