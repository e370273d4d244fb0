"""Logging with a last line of defence: every record is passed through the secret redactor."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from nlu.redact import redact


class RedactingFilter(logging.Filter):
    """Rewrites a record's message so no OTP, card number or password reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        clean, _ = redact(message)
        record.msg, record.args = clean, None
        return True


def setup_logging(level: str, file: str | None) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    # Driver and SQL loggers echo statements and their parameters (SQLAlchemy does at INFO): personal data has
    # no business in a log file, so they speak only of problems.
    for noisy in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in list(root.handlers):
        if getattr(handler, "_hotline", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(file, maxBytes=10_000_000, backupCount=5,
                                                             encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        handler._hotline = True  # type: ignore[attr-defined]
        root.addHandler(handler)
