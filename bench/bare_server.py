"""The ceiling to compare with: the same web and database stack, one SQLite write per message, no bot.

Run as ``python bench/bare_server.py DB_PATH PORT``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.runtime import tune_for_serving
from storage.db import Database


def build(db_path: str) -> FastAPI:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    table = sa.Table("bare", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("user_id", sa.String), sa.Column("body", sa.Text), sa.Column("at", sa.DateTime))
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await db.run(lambda conn: table.metadata.create_all(conn))
        yield
        await db.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/messages")
    async def message(request: Request) -> JSONResponse:
        body = await request.json()
        row = {"user_id": body["user_id"], "body": str(body), "at": datetime.now(UTC)}
        await db.run(lambda conn: conn.execute(sa.insert(table).values(**row)))
        return JSONResponse({"messages": [{"text": "ok", "buttons": []}]})

    return app


if __name__ == "__main__":
    path, port = sys.argv[1], int(sys.argv[2])
    tune_for_serving()  # the same interpreter settings as `hotline serve`, for a fair ceiling
    config = uvicorn.Config(build(path), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    asyncio.run(uvicorn.Server(config).serve())
