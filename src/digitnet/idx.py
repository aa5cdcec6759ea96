"""The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimensions, then the data in row-major order. digitnet reads and writes the unsigned-byte type
(0x08), the only one MNIST and its look-alikes use.
"""

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from digitnet.atomic import replaced_atomically
from digitnet.errors import DataError

UNSIGNED_BYTE = 0x08


def _open(path: Path, mode: str, compressed: bool):
    return gzip.open(path, mode) if compressed else open(path, mode)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file of unsigned bytes into a uint8 array of the shape its header declares.

    Raises DataError when the file is missing, is not IDX, is truncated or has trailing bytes.
    """
    path = Path(path)
    try:
        with _open(path, "rb", path.suffix == ".gz") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != UNSIGNED_BYTE:
        raise DataError(f"{path}: IDX data type 0x{dtype_code:02x} is not supported (only unsigned byte)")
    if not 1 <= ndim <= 4:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(raw) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(f"{path}: {problem}: header says {shape} = {expected} bytes, file holds {actual}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz), atomically."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with replaced_atomically(path) as tmp, _open(tmp, "wb", path.suffix == ".gz") as f:
        f.write(header)
        f.write(memoryview(array))
