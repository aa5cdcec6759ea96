"""Model files: the network's arrays in an ``.npz`` plus JSON metadata, never a pickle.

Layout of the archive: ``W0, b0, W1, b1, ...`` (see ``Network``), ``metadata``, a 0-d unicode
array holding a JSON object (its ``classes`` name the outputs: the ten digits, and for a reader
model an eleventh, "not a digit"; its ``input_preparation`` says whether inputs are deslanted), and for training checkpoints ``state_*`` float arrays (e.g. momentum
velocities). Loading uses ``allow_pickle=False`` and validates everything before
a ``Network`` is built; saving writes a temporary file in the target directory and renames it,
so a crash never leaves half a model behind.
"""

import datetime
import json
import os
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.atomic import replaced_atomically
from digitnet.errors import ModelFileError
from digitnet.nn.losses import softmax
from digitnet.nn.network import Network

FORMAT = "digitnet-model"
FORMAT_VERSION = 1
INPUT_PIXELS, DIGITS = 28 * 28, 10  # every digitnet model reads 28x28 images into the 10 digits...
NOT_A_DIGIT = "not a digit"  # ...and a reader model has an 11th output, index DIGITS, for anything else
CLASSES_BY_OUTPUTS = {DIGITS: [str(d) for d in range(DIGITS)],
                      DIGITS + 1: [str(d) for d in range(DIGITS)] + [NOT_A_DIGIT]}
ZIP_SIGNATURE = b"PK\x03\x04"  # how every .npz archive starts
SHIPPED_MODELS = ("reader", "best", "seed")
DEFAULT_MODEL = "reader"
STATE_PREFIX = "state_"
INPUT_SPEC = {
    "shape": [28, 28],
    "scaling": "pixel / 255 as float32, ink 1.0 on background 0.0 (MNIST polarity), rows flattened",
}


@dataclass
class Model:
    """A network and what its file says about it (layer sizes, recipe, data, accuracy...).

    ``state`` holds extra named float arrays a training checkpoint needs (empty for a model).
    """

    network: Network
    metadata: dict = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        """The name of each output: "0".."9", then "not a digit" for a reader model."""
        return CLASSES_BY_OUTPUTS[self.network.layer_sizes[-1]]

    @property
    def deslants_input(self) -> bool:
        """Whether the model was trained on deslanted digits (``reading.normalise.mnist_style(ink,
        deslant=True)``), so its input must be deslanted too. False for models that say nothing
        (seed and best were trained on MNIST as it is)."""
        return bool((self.metadata.get("input_preparation") or {}).get("deslant", False))

    @property
    def temperature(self) -> float:
        """The softmax temperature fitted on validation data (``calibration`` metadata), else 1."""
        return float((self.metadata.get("calibration") or {}).get("temperature", 1.0))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """x: (n, 784) float32 in [0, 1] -> (n, classes) probabilities, temperature-scaled (classes:
        10, or 11 with "not a digit" last)."""
        return softmax(self.network.logits(x) / self.temperature)

    def digit_logits(self, x: np.ndarray) -> np.ndarray:
        """x: (n, 784) float32 in [0, 1] -> (n, 10) logits of the ten digits alone (a reader model's
        "not a digit" left out: its argmax is the most likely digit, given that it is one)."""
        return self.network.logits(x)[:, :DIGITS]


def shipped_model_path(name: str = DEFAULT_MODEL) -> Path:
    """Path of a model that ships inside the package (``reader``: the default, 10 digits + "not a
    digit" on deslanted crops; ``best``: the best 10-digit recipe; ``seed``: the original recipe)."""
    if name not in SHIPPED_MODELS:
        raise ModelFileError(f"no shipped model named {name!r}; shipped: {', '.join(SHIPPED_MODELS)}")
    return Path(str(resources.files("digitnet").joinpath("models", f"{name}.npz")))


def resolve_model_path(path: str | os.PathLike | None = None) -> Path:
    """The file a ``--model`` value means: None -> the default shipped model; a shipped model's
    name (``reader``, ``best``, ``seed``) -> that model, unless a file of that name exists; else the path."""
    if path is None or (str(path) in SHIPPED_MODELS and not Path(path).exists()):
        return shipped_model_path(DEFAULT_MODEL if path is None else str(path))
    return Path(path)


def describe_network(network: Network) -> dict:
    """The metadata every model file carries about its architecture and input."""
    return {
        "layer_sizes": list(network.layer_sizes),
        "activations": {"hidden": "relu", "output": "softmax"},
        "classes": CLASSES_BY_OUTPUTS.get(network.layer_sizes[-1]),
        "dtype": str(network.dtype),
        "input": INPUT_SPEC,
    }


def save_model(path: str | os.PathLike, model: Model) -> Path:
    """Write ``model`` to ``path`` atomically. Adds format, version and creation time to the metadata."""
    from digitnet import __version__

    path = Path(path)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        **{k: v for k, v in model.metadata.items() if k not in ("format", "format_version")},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **describe_network(model.network),  # derived from the arrays saved: always wins over stale metadata
    }
    arrays = {}
    for i, (w, b) in enumerate(zip(model.network.weights, model.network.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    arrays.update({STATE_PREFIX + name: array for name, array in model.state.items()})
    arrays["metadata"] = np.array(json.dumps(metadata))
    with replaced_atomically(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    model.metadata = metadata
    return path


def load_model(path: str | os.PathLike | None = None) -> Model:
    """Read and validate a model file (default: the shipped default model).

    ``path`` may also be the name of a shipped model (``reader``, ``best``, ``seed``) when no such file exists.

    Raises ModelFileError for a missing, truncated, non-npz, pickle-bearing, wrong-version or
    inconsistent file; nothing in the file is ever unpickled.
    """
    path = resolve_model_path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if not path.is_file():
        raise ModelFileError(f"{path}: is not a file")
    # np.load treats anything that is neither .npy nor zip as a pickle: refuse such files by name first.
    with open(path, "rb") as f:
        if f.read(4) != ZIP_SIGNATURE:
            raise ModelFileError(f"{path}: not a .npz model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as e:
        if "pickle" in str(e):
            raise ModelFileError(f"{path}: holds a pickled object array; refusing to load it") from None
        raise ModelFileError(f"{path}: not a valid model file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{path}: not a valid .npz model file ({e})") from None
    if "metadata" not in arrays:
        raise ModelFileError(f"{path}: not a digitnet model file (no metadata)")
    metadata = _parse_metadata(path, arrays.pop("metadata"))
    state = {name[len(STATE_PREFIX):]: arrays.pop(name) for name in list(arrays) if name.startswith(STATE_PREFIX)}
    if any(a.dtype not in (np.float32, np.float64) or not np.isfinite(a).all() for a in state.values()):
        raise ModelFileError(f"{path}: training state holds non-float or non-finite arrays")
    calibration = metadata.get("calibration") or {}
    temperature = calibration.get("temperature", 1.0) if isinstance(calibration, dict) else None
    if not (isinstance(temperature, (int, float)) and 0 < temperature < float("inf")):
        raise ModelFileError(f"{path}: calibration temperature must be a positive number, got {temperature!r}")
    return Model(_build_network(path, arrays, metadata), metadata, state)


def _parse_metadata(path: Path, raw: np.ndarray) -> dict:
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: metadata is not a JSON string")
    try:
        metadata = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({e})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a digitnet model file")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {metadata.get('format_version')!r} is not supported "
            f"(this digitnet reads version {FORMAT_VERSION})"
        )
    sizes = metadata.get("layer_sizes")
    if not (isinstance(sizes, list) and len(sizes) >= 2 and all(isinstance(n, int) and n > 0 for n in sizes)):
        raise ModelFileError(f"{path}: metadata has no valid layer_sizes")
    if sizes[0] != INPUT_PIXELS or sizes[-1] not in CLASSES_BY_OUTPUTS:
        raise ModelFileError(f"{path}: a {'-'.join(map(str, sizes))} network does not read 28x28 digits "
                             f"(it must take {INPUT_PIXELS} inputs and give {DIGITS} outputs, or "
                             f"{DIGITS + 1} with {NOT_A_DIGIT!r})")
    if metadata.get("classes", CLASSES_BY_OUTPUTS[sizes[-1]]) != CLASSES_BY_OUTPUTS[sizes[-1]]:
        raise ModelFileError(f"{path}: metadata classes {metadata['classes']!r} are not those of a "
                             f"{sizes[-1]}-output digit model")
    preparation = metadata.get("input_preparation", {})
    if not (isinstance(preparation, dict) and isinstance(preparation.get("deslant", False), bool)):
        raise ModelFileError(f"{path}: metadata input_preparation must be an object with a true/false deslant")
    return metadata


def _build_network(path: Path, arrays: dict, metadata: dict) -> Network:
    sizes = metadata["layer_sizes"]
    expected = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        expected[f"W{i}"], expected[f"b{i}"] = (n_in, n_out), (n_out,)
    if set(arrays) != set(expected):
        raise ModelFileError(f"{path}: holds arrays {sorted(arrays)}, expected {sorted(expected)}")
    for name, shape in expected.items():
        array = arrays[name]
        if array.shape != shape:
            raise ModelFileError(f"{path}: {name} has shape {array.shape}, layer sizes {sizes} need {shape}")
        if array.dtype not in (np.float32, np.float64):
            raise ModelFileError(f"{path}: {name} has dtype {array.dtype}, expected float32 or float64")
        if not np.isfinite(array).all():
            raise ModelFileError(f"{path}: {name} holds non-finite values")
    layers = len(sizes) - 1
    return Network([arrays[f"W{i}"] for i in range(layers)], [arrays[f"b{i}"] for i in range(layers)])
