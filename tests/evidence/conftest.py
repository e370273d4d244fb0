"""Fixtures for evidence tests: one worker pool per module (spawning workers costs a second), and an engine
wired with a real evidence reader over a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.evidence import ocr
from handlers.evidence.apps import parse_apps
from handlers.evidence.limits import Limits
from handlers.evidence.pool import EvidencePool
from handlers.evidence.reader import EvidenceReader
from storage.db import Database
from storage.files import store_attachment
from storage.keys import Attachment
from tests.chat import TEST_CIPHER, Chat, make_engine

needs_ocr = pytest.mark.skipif(not ocr.available(), reason="tesseract-ocr-vie is not installed (./dev setup)")

OFFICIAL_PACKAGE = "vn.vnpt.vnedu.test"


def official_apps(cert_sha256: str) -> object:
    return parse_apps({"apps": [{"id": "vnedu", "label": "vnEdu (VNPT)", "names": ["vnedu", "so lien lac dien tu"],
                                 "packages": [OFFICIAL_PACKAGE], "certificates": [cert_sha256]}]})


@pytest.fixture(scope="module")
def pool() -> Iterator[EvidencePool]:
    p = EvidencePool(Limits(workers=1, queue=2))
    yield p
    p.close()


@pytest.fixture
async def chat_with_reader(sqlite_db: Database, pool: EvidencePool) -> Chat:
    reader = EvidenceReader(pool, TEST_CIPHER)
    engine = make_engine(sqlite_db)
    engine.evidence = reader
    engine.dialogue.evidence = reader
    return Chat(engine)


def stored(tmp_path: Path, data: bytes, name: str = "shot.png") -> Attachment:
    return store_attachment(tmp_path, data, cipher=TEST_CIPHER, file_name=name)
