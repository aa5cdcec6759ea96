"""Opening a file a user named, bounded: regular files only, and never more bytes than a limit.

A path may name a device (``/dev/zero`` never ends), a FIFO (opening it waits for a writer) or a
symlink to either. ``open_regular_file`` refuses those without reading them, so every reader of
user files (images, model files, IDX data) is bounded in time and memory by the limit it gives.
"""

import os
import stat
from typing import BinaryIO

from digitnet.errors import DigitnetError


def open_regular_file(path: str | os.PathLike, max_bytes: int, error: type[DigitnetError],
                      name: str | None = None) -> BinaryIO:
    """``path`` opened for reading in binary, once it is known to be a regular file of at most
    ``max_bytes`` bytes; else ``error`` (a one-line message starting with ``name``, default the path)."""
    name = name or str(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to /dev/zero is a device
    except FileNotFoundError:
        raise error(f"{name}: no such file") from None
    except OSError as e:
        raise error(f"{name}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(mode):
        raise error(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise error(f"{name}: is not a regular file (a device, FIFO or socket); refusing to read it")
    try:
        file = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")  # O_NONBLOCK: never wait on a FIFO
    except OSError as e:
        raise error(f"{name}: cannot be read ({e.strerror or e})") from None
    status = os.fstat(file.fileno())  # what was opened, should the path have changed since the stat
    if not stat.S_ISREG(status.st_mode) or status.st_size > max_bytes:
        file.close()
        problem = "is not a regular file" if not stat.S_ISREG(status.st_mode) else (
            f"is {status.st_size:,} bytes, above the limit of {max_bytes:,} bytes")
        raise error(f"{name}: {problem}; refusing to read it")
    return file


def read_regular_file(path: str | os.PathLike, max_bytes: int, error: type[DigitnetError],
                      name: str | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (see ``open_regular_file``), reading at most
    ``max_bytes + 1`` of them, so a file that grows while it is read is refused too."""
    name = name or str(path)
    with open_regular_file(path, max_bytes, error, name) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise error(f"{name}: cannot be read ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise error(f"{name}: is larger than the limit of {max_bytes:,} bytes; refusing to read it")
    return data


