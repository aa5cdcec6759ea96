"""Reading the arrays of an ``.npz`` archive within limits, before anything is decompressed.

``np.load`` trusts an archive: a member may declare a 3 GiB array, the zip directory may list a
million members, deflate data may be corrupt, a member may not be ``.npy`` at all. ``NpzReader``
checks the zip directory first (member count, names, declared sizes), then each member's ``.npy``
header (dtype, shape) before allocating its array, and turns every failure into one
``ModelFileError``. Nothing is ever unpickled.
"""

import struct
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from digitnet.errors import ModelFileError
from digitnet.files import open_regular_file

END_OF_DIRECTORY = b"PK\x05\x06"
END_RECORD_BYTES = 22
MAX_COMMENT_BYTES = 2**16
DIRECTORY_BYTES_PER_MEMBER = 512  # a directory entry: 46 bytes, its name and zip64 extras


class NpzReader:
    """The ``.npy`` members of the zip archive in ``file`` (an open binary file), read within limits.

    ``max_members``: most members the directory may list; ``max_total_bytes``: most bytes all
    members may hold once decompressed, as their directory entries declare.
    """

    def __init__(self, file, name: str, max_members: int, max_total_bytes: int):
        self.name = name
        members, directory_bytes = _directory_size(file, name)
        if members > max_members or directory_bytes > max_members * DIRECTORY_BYTES_PER_MEMBER:
            raise ModelFileError(f"{name}: its zip directory lists {members:,} members in {directory_bytes:,} bytes; "
                                 f"at most {max_members} members expected")
        with _as_model_file_error(name):
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        if len(infos) > max_members:
            raise ModelFileError(f"{name}: holds {len(infos):,} members; at most {max_members} expected")
        not_npy = [info.filename for info in infos if not info.filename.endswith(".npy")]
        if not_npy:
            raise ModelFileError(f"{name}: holds {not_npy[0]!r}, which is not a .npy array")
        total = sum(info.file_size for info in infos)
        if total > max_total_bytes:
            raise ModelFileError(f"{name}: its members would decompress to {total:,} bytes; "
                                 f"the limit is {max_total_bytes:,} bytes")
        self._infos = {info.filename[: -len(".npy")]: info for info in infos}

    @property
    def names(self) -> list[str]:
        """The arrays' names, without ``.npy``."""
        return list(self._infos)

    def array(self, name: str, kind: tuple, shape: tuple[int, ...] | None = None,
              max_bytes: int | None = None) -> np.ndarray:
        """Member ``name`` as an array, refused unless its header declares a dtype of ``kind``
        (``(accepts(dtype) -> bool, "what it is")``), the ``shape`` given (any when None) and at
        most ``max_bytes`` bytes of data."""
        info = self._infos[name]
        with _as_model_file_error(self.name), self._zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in ((1, 0), (2, 0)):
                raise ModelFileError(f"{self.name}: {name} has .npy format version {version}, expected 1.0 or 2.0")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            declared_shape, fortran_order, dtype = read_header(member)
            if dtype.hasobject:
                raise ModelFileError(f"{self.name}: {name} holds a pickled object array; refusing to load it")
            accepts, what = kind
            if not accepts(dtype):
                raise ModelFileError(f"{self.name}: {name} is not {what} (its dtype is {dtype})")
            if shape is not None and declared_shape != tuple(shape):
                raise ModelFileError(f"{self.name}: {name} has shape {declared_shape}, expected {tuple(shape)}")
            size = int(np.prod(declared_shape, dtype=np.int64)) * dtype.itemsize
            if max_bytes is not None and size > max_bytes:
                raise ModelFileError(f"{self.name}: {name} holds {size:,} bytes; the limit is {max_bytes:,}")
            if size > info.file_size:
                raise ModelFileError(f"{self.name}: {name} declares {size:,} bytes of data in a "
                                     f"{info.file_size:,}-byte member")
            data = member.read(size)
            if len(data) != size:
                raise ModelFileError(f"{self.name}: {name} is truncated")
        values = np.frombuffer(data, dtype=dtype)
        return (values.reshape(declared_shape[::-1]).T if fortran_order else values.reshape(declared_shape)).copy()


def _directory_size(file, name: str) -> tuple[int, int]:
    """(members, bytes) of the zip directory as its end record declares them, read before zipfile
    parses the directory (which it reads whole, whatever the member count)."""
    file.seek(0, 2)
    length = file.tell()
    tail_start = max(0, length - END_RECORD_BYTES - MAX_COMMENT_BYTES)
    file.seek(tail_start)
    tail = file.read()
    at = tail.rfind(END_OF_DIRECTORY)
    if at < 0 or len(tail) - at < END_RECORD_BYTES:
        raise ModelFileError(f"{name}: not a valid .npz model file (no zip directory: truncated?)")
    file.seek(0)
    members, directory_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    return members, directory_bytes


@contextmanager
def _as_model_file_error(name: str):
    try:
        yield
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError,
            struct.error, KeyError, SyntaxError) as e:  # what zipfile and np.lib.format raise for damaged data
        raise ModelFileError(f"{name}: not a valid .npz model file ({type(e).__name__}: {_first_line(e)})") from None


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else ""


@contextmanager
def open_npz(path, max_file_bytes: int, max_members: int, max_total_bytes: int):
    """An ``NpzReader`` of the regular file at ``path`` (at most ``max_file_bytes``), closed after use."""
    with open_regular_file(path, max_file_bytes, ModelFileError) as file:
        yield NpzReader(file, str(path), max_members, max_total_bytes)
