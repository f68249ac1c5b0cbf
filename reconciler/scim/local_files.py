"""Reading a file the user names by path (a secret's *_FILE, a saved plan, a CA bundle):
a regular file only, opened without blocking, and never read past a bound."""

from __future__ import annotations

import os
import stat


class NotRegularFile(Exception):
    """The path names a FIFO, a device, a directory or a socket."""


class FileTooLarge(Exception):
    """The file holds more than the bound its reader set."""


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    NotRegularFile if it is no regular file, FileTooLarge if it holds more than `limit`
    bytes, OSError if it cannot be opened or read. Never blocks and never reads more than
    `limit + 1` bytes: /dev/zero and /dev/urandom would fill memory if read whole, and a
    FIFO nobody writes to would wait forever.
    """
    # Non-blocking: opening a FIFO would wait for a writer that may never come; it opens
    # at once, and is refused as no regular file.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(os.fspath(path))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise FileTooLarge(os.fspath(path))
    return raw
