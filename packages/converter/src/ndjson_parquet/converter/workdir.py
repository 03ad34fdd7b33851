"""Where a run keeps its files until it commits, and clearing what killed runs left there.

A run writes its parts to a folder of its own, published only when the whole run succeeded.
For a local destination the folder is inside it (publishing is then a rename on one file
system): ``<destination>/_ndjson-parquet-work/<id>/``, with parts named ``part-*.parquet.tmp``.
No dataset reader looks there: Spark, Hive, Athena and pyarrow's datasets skip ``_`` folders,
and the files do not end in ``.parquet``, so a ``**/*.parquet`` glob (DuckDB's, which does not
skip hidden folders) never matches them. For an s3:// destination the folder is in the local
temporary directory.

A run holds an exclusive `flock` on ``<id>/.lock`` while it lives. The operating system drops
the lock when the process dies, however it dies (SIGKILL, out of memory), so a later run
removes every folder whose lock it can take: the debris of killed runs, never a live run's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

WORK_FOLDER: Final = "_ndjson-parquet-work"
PART_SUFFIX: Final = ".parquet.tmp"
_LOCK: Final = ".lock"
# A folder without a lock file is being created (or its run died at once): left alone a while.
_GRACE_SECONDS: Final = 60.0


def work_root(destination: str) -> Path:
    """The folder holding the work folders of runs into `destination`."""
    if destination.startswith("s3://"):
        return Path(tempfile.gettempdir()) / "ndjson-parquet-work"
    return Path(destination) / WORK_FOLDER


@contextlib.contextmanager
def work_folder(destination: str) -> Iterator[Path]:
    """A locked work folder for one run, removed afterwards; clears dead runs' folders first."""
    root = work_root(destination)
    root.mkdir(parents=True, exist_ok=True)
    remove_dead(root)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    lock = os.open(folder / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(lock)
        with contextlib.suppress(OSError):
            root.rmdir()  # only when no other run uses it


def remove_dead(root: Path) -> list[Path]:
    """Remove the work folders under `root` whose run is gone; returns them."""
    removed = []
    for folder in sorted(root.glob("run-*")):
        if _is_dead(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _is_dead(folder: Path) -> bool:
    try:
        fd = os.open(folder / _LOCK, os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > _GRACE_SECONDS
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live run holds it
    else:
        return True
    finally:
        os.close(fd)
