"""Logging with a last line of defence: every record — message, traceback, stack — passes the redactor.

Every logger reaches the same handlers: uvicorn's own loggers are stripped of the handlers uvicorn would
install and propagate to ours (``UVICORN_LOGGING`` is what ``serve`` passes it), and warnings are logged.
A traceback keeps its frames but its exception's message is redacted and cut short, and a pydantic
validation error is rendered without the input it carries: a request body never reaches a log line.
"""

from __future__ import annotations

import logging
import logging.handlers
import traceback
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nlu.redact import redact
from storage.perms import private_file

MAX_EXCEPTION_MESSAGE = 300
THIRD_PARTY = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "fastapi", "starlette")
# uvicorn.Config options: no logging configuration of its own, so its records go through our handlers.
UVICORN_LOGGING: dict[str, Any] = {"log_config": None, "access_log": False}


def _exception_message(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                         for e in exc.errors(include_input=False, include_url=False))[:MAX_EXCEPTION_MESSAGE]
    text = str(exc)
    if len(text) > MAX_EXCEPTION_MESSAGE:
        text = text[:MAX_EXCEPTION_MESSAGE] + " …(cut)"
    return redact(text)[0]


def format_exception(exc: BaseException) -> str:
    """A traceback whose exception messages (the chained ones too) are redacted and cut short."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    for i, item in enumerate(reversed(chain)):
        if i:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(f"{type(item).__module__}.{type(item).__qualname__}: {_exception_message(item)}")
    return "".join(parts)


class RedactingFilter(logging.Filter):
    """Rewrites a record so no OTP, card number, password or request body reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        clean, _ = redact(message)
        record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)[0]
        if record.stack_info:
            record.stack_info = redact(record.stack_info)[0]
        return True


def setup_logging(level: str, file: str | None) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    # Driver and SQL loggers echo statements and their parameters (SQLAlchemy does at INFO): personal data has
    # no business in a log file, so they speak only of problems.
    for noisy in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in THIRD_PARTY:  # a handler of their own would bypass the redactor
        lib = logging.getLogger(name)
        for handler in list(lib.handlers):
            lib.removeHandler(handler)
        lib.propagate = True
    logging.captureWarnings(True)
    for handler in list(root.handlers):
        if getattr(handler, "_hotline", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file:
        private_file(Path(file))  # 0600 in a 0700 folder: even redacted logs describe who wrote when
        handlers.append(logging.handlers.RotatingFileHandler(file, maxBytes=10_000_000, backupCount=5,
                                                             encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        handler._hotline = True  # type: ignore[attr-defined]
        root.addHandler(handler)
