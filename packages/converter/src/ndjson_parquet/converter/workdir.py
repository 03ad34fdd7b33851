"""Where a run keeps its files until it commits, and clearing what killed runs left there.

A run writes its parts to a folder of its own, published only when the whole run succeeded.
For a local destination the folder is inside it (publishing is then a rename on one file
system): ``<destination>/_ndjson-parquet-work/run-*/``, parts named ``part-*.parquet.tmp``.
No dataset reader looks there: Spark, Hive, Athena and pyarrow's datasets skip ``_`` folders,
and the files do not end in ``.parquet``, so a ``**/*.parquet`` glob (DuckDB's, which does not
skip hidden folders) never matches them. For an s3:// destination the folder is in the local
temporary directory.

A run holds an exclusive `flock` on ``run-*/.lock`` while it lives. The operating system drops
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
# A folder still being set up (or whose run died then) is left alone this long.
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
    new = _new_folder(root)
    lock = os.open(new / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    folder = new
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = root / ("run-" + new.name[len(".new-") :])
        os.rename(new, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(lock)
        with contextlib.suppress(OSError):
            root.rmdir()  # only when no other run uses it


def _new_folder(root: Path) -> Path:
    """A fresh folder under `root`, made under another name than `run-*`: it is locked before
    it is renamed to one, so no other run ever sees it unlocked."""
    for _ in range(5):
        root.mkdir(parents=True, exist_ok=True)
        remove_dead(root)
        try:
            return Path(tempfile.mkdtemp(prefix=".new-", dir=root))
        except FileNotFoundError:  # another run removed the empty root just now
            continue
    raise OSError(f"cannot create a work folder in {root}")


def remove_dead(root: Path) -> list[Path]:
    """Remove the work folders under `root` whose run is gone; returns them."""
    removed = []
    for folder in sorted([*root.glob("run-*"), *root.glob(".new-*")]):
        if _is_dead(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _is_dead(folder: Path) -> bool:
    if folder.name.startswith(".new-"):  # a run being set up, or one killed while it was
        try:
            return time.time() - folder.stat().st_mtime > _GRACE_SECONDS
        except OSError:
            return False
    try:
        fd = os.open(folder / _LOCK, os.O_RDWR)
    except OSError:
        return not (folder / _LOCK).exists() and folder.exists()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live run holds it
    else:
        return True
    finally:
        os.close(fd)
