"""Reading input files with a size cap: only regular files, never more than a stated number of bytes.

A FIFO would block the reader forever and a device such as /dev/zero never ends, so both are refused before
they are opened; a regular file is read up to its cap plus one byte, so that a file that grows while it is
read is refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import DataError, DesignError, MixidError

DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def _shown(text: str, limit: int = 60) -> str:
    """A path (or any text) for an error message: quoted, and cut to ``limit`` characters."""
    text = repr(text)
    return text if len(text) <= limit else f"{text[:limit - 4]}...({len(text)} characters)"


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words (from its ``st_mode``).

    Examples
    --------
    >>> file_kind(os.stat("/dev/zero").st_mode)
    'a character device'
    """
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")


def check_data_file(path: str | os.PathLike) -> Path:
    """The path of a data file that can be read: it exists, is a regular file (links followed) and ends in .csv or
    .parquet (.pq); else DataError naming what is wrong. A folder, a FIFO or a device (/dev/zero) would fail late,
    block, or never end. Cheap, so a wrong path fails before a design is placed or a model built.

    Examples
    --------
    >>> check_data_file("/dev/zero")
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DataError: data file '/dev/zero' is a character device, not a regular file
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"data file '{path}' does not exist") from None
    except OSError as exc:  # a name too long, a folder on the way that cannot be entered, a link that loops
        raise DataError(f"cannot read data file '{path}': {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise DataError(f"data file '{path}' is {file_kind(mode)}, not a regular file")
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataError(f"data file '{path}' must end in .csv or .parquet")
    return path


def read_bounded(path: str | Path, limit: int, what: str, error: type[MixidError] = DesignError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; else ``error`` naming ``what`` and the path.

    Examples
    --------
    >>> read_bounded("/dev/zero", 1024, "certificate")
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DesignError: certificate file '/dev/zero' is not a regular file (a character device)
    """
    name = _shown(str(path))
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} file {name} is not a regular file ({file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise error(f"{what} file {name} is larger than {_size(limit)}")
        # O_NONBLOCK: should the path have become a FIFO since the check, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error(f"{what} file {name} is not a regular file")
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {what} file {name}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise error(f"{what} file {name} is larger than {_size(limit)}")
    return raw


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 and not limit % (1 << 20) else (
        f"{limit >> 10} KiB" if limit >= 1 << 10 and not limit % (1 << 10) else f"{limit} bytes")
