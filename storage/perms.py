"""Files that hold personal data are the owner's alone: 0600 files, 0700 directories, from creation on.

``hotline`` also sets its umask to 077 at start (bot/cli.py), which covers files SQLite and libraries
create themselves; these helpers make the same true when Hotline is used as a library (tests, embedding),
and for the SQLite database, whose WAL and shared-memory files copy the database file's mode.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory keeps its mode."""
    missing = []
    here = path
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask; chmod is not
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 if it does not exist (its directory as :func:`private_dir`)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new or truncated 0600 file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, FILE_MODE)
