"""The chat path's ceiling: a plain Starlette handler on uvicorn doing one SQLite insert per message.

No Hotline code and no SQLAlchemy: the JSON body is parsed and one row written through the standard ``sqlite3``
module on one writer thread (WAL, synchronous=NORMAL, as Hotline's database), then a fixed reply goes back.
Run as ``python bench/bare_starlette.py DB_PATH PORT``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REPLY = {"messages": [{"text": "ok", "buttons": []}]}


def build(path: str) -> Starlette:
    writer = ThreadPoolExecutor(max_workers=1)
    conn = writer.submit(sqlite3.connect, path, check_same_thread=False).result()

    def setup() -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, user_id TEXT, body TEXT, at REAL)")

    writer.submit(setup).result()

    def insert(user: str, body: str) -> None:
        with conn:
            conn.execute("INSERT INTO bare (user_id, body, at) VALUES (?, ?, julianday('now'))", (user, body))

    async def message(request: Request) -> JSONResponse:
        body = await request.body()
        user = str(json.loads(body).get("user_id"))
        await asyncio.get_running_loop().run_in_executor(writer, insert, user, body.decode())
        return JSONResponse(REPLY)

    return Starlette(routes=[Route("/api/v1/messages", message, methods=["POST"])])


if __name__ == "__main__":
    db_path, port = sys.argv[1], int(sys.argv[2])
    gc.freeze()
    config = uvicorn.Config(build(db_path), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    asyncio.run(uvicorn.Server(config).serve())
