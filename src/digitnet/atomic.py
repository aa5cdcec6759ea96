"""Writing a file all at once: into a temporary file beside it, then renamed over the target.

Also the check, made before long work starts, that a file can be written where asked
(``output_problem``), so that the work is not lost to a bad path at the end.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PART_SUFFIX = ".part"  # the temporary file of TARGET is .TARGET.PID.part beside it


def temporary_path(path: Path, pid: int | None = None) -> Path:
    """Where this process (or ``pid``) writes ``path`` before renaming it: ``.NAME.PID.part`` beside it."""
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}{PART_SUFFIX}")


def remove_stale_parts(path: Path) -> None:
    """Delete temporary files of ``path`` left by processes that no longer run (e.g. killed mid-save)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+){re.escape(PART_SUFFIX)}")
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    for sibling in siblings:
        match = pattern.fullmatch(sibling.name)
        if match and int(match[1]) != os.getpid() and not _process_exists(int(match[1])):
            sibling.unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    if os.name != "posix":
        return True  # cannot tell cheaply: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def replaced_atomically(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    A reader therefore sees the old file or the complete new one, never half of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path)
    tmp = temporary_path(path)
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomically(path: str | os.PathLike, payload: bytes) -> None:
    with replaced_atomically(path) as tmp:
        tmp.write_bytes(payload)


def output_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be written as a regular file (``replaced_atomically``), or None if it can.

    Refused: a directory, an existing file that is not a regular file (a device, a FIFO), a path
    under a file, and a directory where no file can be created (e.g. /proc). The directory is
    probed by creating (and removing) the temporary file a real write would use.
    """
    path = Path(path)
    if path.is_dir():
        return f"{path} is a directory"
    if path.exists() and not path.is_file():
        return f"{path} exists and is not a regular file; refusing to replace it"
    parent = path.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                return f"{ancestor} is not a directory"
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(path)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        probe.unlink()
    except OSError as e:
        return f"cannot write in {parent} ({e.strerror or e})"
    return None
