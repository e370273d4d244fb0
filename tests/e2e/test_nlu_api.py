"""POST /api/v1/nlu/parse and `hotline nlu parse` against a real server, in Rasa's /model/parse shape."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import HOTLINE, env_for, running_server


@pytest.mark.slow  # ~5 s: a server and `hotline` runs
def test_parse_route_and_cli_agree(tmp_path: Path) -> None:
    text = "số 0377 123 999 gọi xưng cô chủ nhiệm bảo đọc mã OTP 482913, có thật không"
    with running_server(tmp_path) as base:
        r = httpx.post(f"{base}/api/v1/nlu/parse", json={"text": text}, timeout=10)
        assert r.status_code == 200
        body = r.json()
        assert body["intent"]["name"] == "check_call" and 0 < body["intent"]["confidence"] <= 1
        assert {"entity": "phone_number", "value": "+84377123999"}.items() <= body["entities"][0].items()
        assert "482913" not in r.text  # the OTP was redacted before parsing
        bad = httpx.post(f"{base}/api/v1/nlu/parse", content=b"{", headers={"content-type": "application/json"})
        assert bad.status_code == 400
        assert httpx.post(f"{base}/api/v1/nlu/parse", json={"text": ""}).status_code == 422
    out = subprocess.run([HOTLINE, "nlu", "parse", text, "--json"], capture_output=True, text=True,
                         cwd=tmp_path, env=env_for(tmp_path), timeout=120, check=True)
    assert json.loads(out.stdout)["intent"]["name"] == "check_call"


@pytest.mark.slow  # ~5 s: a server process
def test_rasa_backend_down_falls_back_to_the_local_model(tmp_path: Path) -> None:
    from tests.e2e.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_server(tmp_path, HOTLINE_NLU__BACKEND="rasa", HOTLINE_NLU__RASA_URL=dead,
                        HOTLINE_NLU__TIMEOUT_SECONDS="0.5") as base:
        r = httpx.post(f"{base}/api/v1/messages", timeout=10,
                       json={"user_id": "p", "text": "tôi muốn tố giác một số điện thoại lừa đảo"})
        assert r.status_code == 200 and "liên lạc" in r.text  # the report flow started
    assert "rasa" in (tmp_path / "hotline.log").read_text(encoding="utf-8").lower()  # the outage was logged
