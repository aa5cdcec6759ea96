"""The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimensions, then the data in row-major order. digitnet reads and writes the unsigned-byte type
(0x08), the only one MNIST and its look-alikes use.
"""

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from digitnet.atomic import replaced_atomically
from digitnet.errors import DataError
from digitnet.files import open_regular_file

UNSIGNED_BYTE = 0x08
MAX_IDX_BYTES = 256 * 2**20  # of data in one file, compressed or not (MNIST's training images: 47 MB)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file of unsigned bytes into a uint8 array of the shape its header declares.

    Raises DataError when the file is missing or not a regular file, is not IDX, declares more
    than ``MAX_IDX_BYTES`` of data, is truncated or has trailing bytes. A gzip file is
    decompressed only as far as its header declares (plus one byte), so a gzip bomb costs no more
    memory than an honest file.
    """
    path = Path(path)
    with open_regular_file(path, MAX_IDX_BYTES, DataError) as raw_file:
        try:
            with (gzip.open(raw_file, "rb") if path.suffix == ".gz" else raw_file) as f:
                shape = _read_header(path, f)
                expected = math.prod(shape)
                if expected > MAX_IDX_BYTES:
                    raise DataError(f"{path}: header declares {shape} = {expected:,} bytes of data; "
                                    f"the limit is {MAX_IDX_BYTES:,} bytes")
                data = f.read(expected + 1)
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise DataError(f"{path}: cannot read ({e})") from None
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(f"{path}: {problem}: header says {shape} = {expected:,} bytes, file holds "
                        f"{'more' if len(data) > expected else f'{len(data):,}'}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


def _read_header(path: Path, f) -> tuple[int, ...]:
    """The shape an IDX header declares, read from the start of ``f``."""
    magic = f.read(4)
    if len(magic) < 4 or magic[0:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = magic[2], magic[3]
    if dtype_code != UNSIGNED_BYTE:
        raise DataError(f"{path}: IDX data type 0x{dtype_code:02x} is not supported (only unsigned byte)")
    if not 1 <= ndim <= 4:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions")
    dimensions = f.read(4 * ndim)
    if len(dimensions) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    return struct.unpack(f">{ndim}I", dimensions)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz), atomically."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with replaced_atomically(path) as tmp, (gzip.open if path.suffix == ".gz" else open)(tmp, "wb") as f:
        f.write(header)
        f.write(memoryview(array))
