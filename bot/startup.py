"""Signals during start-up: SIGTERM while ``serve`` is still starting (training its model, migrating) stops it.

Python leaves SIGTERM to the default action, which a process running as PID 1 in a container does not
have: the signal was ignored until uvicorn installed its own handlers, after the model had trained. Until
then nothing has been accepted from anyone, so stopping at once loses nothing; uvicorn replaces these
handlers when it starts serving and from there on shuts down gracefully.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

log = logging.getLogger(__name__)

EXIT_CODES = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 128 + signal.SIGINT}


def _stop(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    log.warning("%s during start-up: stopping", name)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.write(f"Hotline: {name} during start-up; stopped before serving\n")
    sys.stderr.flush()
    # A worker thread may be training the model; a normal exit would wait for it to finish.
    os._exit(EXIT_CODES.get(signal.Signals(signum), 1))


def honour_signals_while_starting() -> None:
    for sig in EXIT_CODES:
        signal.signal(sig, _stop)


def hand_signals_to_the_server() -> None:
    """Back to Python's defaults just before uvicorn installs its own (it re-raises them after shutdown)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
