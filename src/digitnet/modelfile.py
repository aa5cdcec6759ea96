"""Model files: the network's arrays in an ``.npz`` plus JSON metadata, never a pickle.

Layout of the archive: ``W0, b0, W1, b1, ...`` (see ``Network``), ``metadata``, a 0-d unicode
array holding a JSON object (its ``classes`` name the outputs: the ten digits, and for a reader
model an eleventh, "not a digit"; its ``input_preparation`` says whether inputs are deslanted), and for training checkpoints ``state_*`` float arrays (e.g. momentum
velocities). A model read by several networks together (the ``reader``: an ensemble) holds each
further network's arrays as ``member1_W0, member1_b0, ...`` and its metadata in the list
``members``. Loading uses ``allow_pickle=False`` and validates everything before
a ``Network`` is built; saving writes a temporary file in the target directory and renames it,
so a crash never leaves half a model behind.
"""

import datetime
import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.atomic import replaced_atomically
from digitnet.errors import ModelFileError
from digitnet.nn.activations import ACTIVATIONS, DEFAULT_ACTIVATION
from digitnet.files import open_regular_file
from digitnet.nn.convnet import ConvNetwork, weight_shapes
from digitnet.nn.losses import softmax
from digitnet.nn.network import Network
from digitnet.npz_reader import open_npz

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
# Limits of what a model file may hold (a 784-128-64-10 model is 0.4 MB; its checkpoint about 1.3 MB).
MAX_MODEL_FILE_BYTES = 256 * 2**20
MAX_ARRAYS = 256  # members of the archive, metadata and training state included
MAX_ARRAY_BYTES = 512 * 2**20  # all members decompressed, as the zip directory declares them
MAX_METADATA_CHARS = 2**20  # the metadata JSON (a 200-epoch checkpoint's history is about 40,000)
MAX_METADATA_DEPTH = 16  # nesting of lists and objects in the metadata (digitnet writes 4)
MAX_LAYERS = 16
MAX_LAYER_WIDTH = 65_536
MAX_CHANNELS = 1024  # per convolution...
MAX_CONVOLUTIONS = 2  # ...and as many convolutions as fit a 28x28 digit (28 -> 12 -> 4 pixels)
MAX_BLAS_THREADS = 256
MAX_MEMBERS = 4  # networks in one model file, its own included
TEMPERATURE_RANGE = (0.05, 20.0)  # the calibration temperatures that can be fitted and are accepted
FLOAT_ARRAY = (lambda dtype: dtype in (np.dtype("<f4"), np.dtype("<f8")), "float32 or float64")
JSON_STRING = (lambda dtype: dtype.kind == "U", "a JSON string")
INPUT_SPEC = {
    "shape": [28, 28],
    "scaling": "pixel / 255 as float32, ink 1.0 on background 0.0 (MNIST polarity), rows flattened",
}


@dataclass
class Model:
    """A network and what its file says about it (layer sizes, recipe, data, accuracy...).

    ``members``: further models read together with this one, an ensemble: ``predict_proba`` is the
    mean of all their probabilities (the ``reader``: its 784-512-256-11 network and a convolutional
    one). Whatever looks inside the model (explanations, the web page's activations, ONNX export,
    the weights plot) looks at ``network``, this model's own. ``state`` holds extra named float
    arrays a training checkpoint needs (empty for a model).
    """

    network: Network
    metadata: dict = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    members: list["Model"] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        """The name of each output: "0".."9", then "not a digit" for a reader model."""
        return CLASSES_BY_OUTPUTS[self.network.layer_sizes[-1]]

    @property
    def deslants_input(self) -> bool:
        """Whether the model was trained on deslanted digits (``reading.normalise.mnist_style(ink,
        deslant=True)``), so its input must be deslanted too. False for models that say nothing
        (seed and best were trained on MNIST as it is)."""
        return deslants(self.metadata)

    @property
    def temperature(self) -> float:
        """The softmax temperature fitted on validation data (``calibration`` metadata), else 1."""
        return float((self.metadata.get("calibration") or {}).get("temperature", 1.0))

    def network_proba(self, x: np.ndarray) -> np.ndarray:
        """x: (n, 784) float32 in [0, 1] -> (n, classes) probabilities of this model's own network,
        temperature-scaled (classes: 10, or 11 with "not a digit" last)."""
        return softmax(self.network.logits(x) / self.temperature)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """x: (n, 784) float32 in [0, 1] -> (n, classes) probabilities: the network's, or the mean of
        every member's with an ensemble."""
        probabilities = self.network_proba(x)
        for member in self.members:
            probabilities += member.network_proba(x)
        return probabilities / (1 + len(self.members))

    def digit_logits(self, x: np.ndarray) -> np.ndarray:
        """x: (n, 784) float32 in [0, 1] -> (n, 10) logits of the ten digits alone (a reader model's
        "not a digit" left out: its argmax is the most likely digit, given that it is one). For an
        ensemble, the log of its mean probabilities."""
        if not self.members:
            return self.network.logits(x)[:, :DIGITS]
        return np.log(np.maximum(self.predict_proba(x)[:, :DIGITS], np.finfo(np.float32).tiny))


def deslants(metadata: dict) -> bool:
    """Whether a model's (or a member's) metadata says its inputs are deslanted."""
    return bool((metadata.get("input_preparation") or {}).get("deslant", False))


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
        "convolutions": list(network.channels),  # channels of each convolution in front
        "activations": {"hidden": network.activation, "output": "softmax"},
        "classes": CLASSES_BY_OUTPUTS.get(network.layer_sizes[-1]),
        "dtype": str(network.dtype),
        "input": INPUT_SPEC,
    }


def save_model(path: str | os.PathLike, model: Model) -> Path:
    """Write ``model`` (and its members) to ``path`` atomically. Adds format, version and creation
    time to the metadata."""
    from digitnet import __version__

    path = Path(path)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        **{k: v for k, v in model.metadata.items() if k not in ("format", "format_version", "members")},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **describe_network(model.network),  # derived from the arrays saved: always wins over stale metadata
    }
    if model.members:
        metadata["members"] = [{**{k: v for k, v in m.metadata.items() if k not in ("format", "format_version")},
                                **describe_network(m.network)} for m in model.members]
    arrays = {}
    for prefix, network in _prefixed([model.network] + [m.network for m in model.members]):
        for i, (w, b) in enumerate(zip(network.weights, network.biases)):
            arrays[f"{prefix}W{i}"], arrays[f"{prefix}b{i}"] = w, b
    arrays.update({STATE_PREFIX + name: array for name, array in model.state.items()})
    arrays["metadata"] = np.array(json.dumps(metadata))
    with replaced_atomically(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    model.metadata = metadata
    for member, member_metadata in zip(model.members, metadata.get("members", [])):
        member.metadata = member_metadata
    return path


def _prefixed(items: list) -> list[tuple[str, object]]:
    """Each network of a model file with the prefix of its arrays' names: "" for the model's own,
    then "member1_", "member2_", ..."""
    return [("" if k == 0 else f"member{k}_", item) for k, item in enumerate(items)]


def load_model(path: str | os.PathLike | None = None) -> Model:
    """Read and validate a model file (default: the shipped default model).

    ``path`` may also be the name of a shipped model (``reader``, ``best``, ``seed``) when no such file exists.

    Raises ModelFileError for a missing, truncated, non-npz, pickle-bearing, wrong-version or
    inconsistent file, and for one over the limits (``MAX_*`` above); nothing in the file is ever
    unpickled, and no array is decompressed before its declared size has been checked.
    """
    path = resolve_model_path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is not a file")
    # Refused by its first bytes, before any zip parsing: anything that is not a zip archive.
    with open_regular_file(path, MAX_MODEL_FILE_BYTES, ModelFileError) as f:
        if f.read(4) != ZIP_SIGNATURE:
            raise ModelFileError(f"{path}: not a .npz model file")
    with open_npz(path, MAX_MODEL_FILE_BYTES, MAX_ARRAYS, MAX_ARRAY_BYTES) as archive:
        if "metadata" not in archive.names:
            raise ModelFileError(f"{path}: not a digitnet model file (no metadata)")
        raw = archive.array("metadata", JSON_STRING, shape=None, max_bytes=4 * MAX_METADATA_CHARS)
        metadata = _parse_metadata(path, raw)
        networks = _prefixed([metadata] + metadata.get("members", []))
        expected = {prefix + name: shape for prefix, described in networks for name, shape in
                    _expected_shapes(described["layer_sizes"], described.get("convolutions", [])).items()}
        names = set(archive.names) - {"metadata"}
        state_names = {name for name in names if name.startswith(STATE_PREFIX)}
        if names - state_names != set(expected):
            raise ModelFileError(f"{path}: holds arrays {sorted(names - state_names)}, expected {sorted(expected)}")
        arrays = {name: archive.array(name, FLOAT_ARRAY, shape) for name, shape in expected.items()}
        state = {name[len(STATE_PREFIX):]: archive.array(name, FLOAT_ARRAY) for name in sorted(state_names)}
    if not all(np.isfinite(a).all() for a in state.values()):
        raise ModelFileError(f"{path}: training state holds non-finite arrays")
    model, *members = [Model(_build_network(path, _unprefixed(arrays, prefix), described), described)
                       for prefix, described in networks]
    model.state, model.members = state, members
    return model


def _unprefixed(arrays: dict, prefix: str) -> dict:
    """The arrays of the network whose names carry ``prefix`` ("": the model's own), named without it."""
    return {name[len(prefix):]: array for name, array in arrays.items()
            if (name.startswith(prefix) if prefix else not name.startswith("member"))}


def _expected_shapes(sizes: list[int], channels: list[int]) -> dict[str, tuple[int, ...]]:
    """The arrays a network of ``sizes`` (and convolutions of ``channels`` in front) is made of:
    ``W{i}`` (n_in, n_out) and ``b{i}`` (n_out,), convolutions first (``ConvNetwork``)."""
    shapes = weight_shapes(channels, sizes) if channels else list(zip(sizes[:-1], sizes[1:]))
    expected = {}
    for i, (n_in, n_out) in enumerate(shapes):
        expected[f"W{i}"], expected[f"b{i}"] = (n_in, n_out), (n_out,)
    return expected


def _parse_metadata(path: Path, raw: np.ndarray) -> dict:
    if raw.shape != ():
        raise ModelFileError(f"{path}: metadata is not a JSON string")
    try:
        metadata = json.loads(str(raw), parse_constant=_refuse_non_finite)
    except RecursionError:
        raise ModelFileError(f"{path}: metadata nests deeper than {MAX_METADATA_DEPTH} levels") from None
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({e})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a digitnet model file")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {metadata.get('format_version')!r} is not supported "
            f"(this digitnet reads version {FORMAT_VERSION})"
        )
    if json_depth(metadata) > MAX_METADATA_DEPTH:
        raise ModelFileError(f"{path}: metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    _check_network_metadata(path, metadata, "metadata")
    members = metadata.get("members", [])
    if not (isinstance(members, list) and len(members) < MAX_MEMBERS and all(isinstance(m, dict) for m in members)):
        raise ModelFileError(f"{path}: metadata members must be a list of at most {MAX_MEMBERS - 1} objects")
    for number, member in enumerate(members, start=1):
        where = f"member {number}'s metadata"
        _check_network_metadata(path, member, where)
        if "members" in member:
            raise ModelFileError(f"{path}: {where} has members of its own")
        if member["layer_sizes"][-1] != metadata["layer_sizes"][-1] or deslants(member) != deslants(metadata):
            raise ModelFileError(f"{path}: {where} gives other outputs or reads other inputs than the model")
    return metadata


def _check_network_metadata(path: Path, metadata: dict, where: str) -> None:
    """Raise ModelFileError unless ``metadata`` (a model's, or one member's) describes a network
    that reads 28x28 digits: layer sizes, convolutions, classes, input preparation, fields."""
    sizes = metadata.get("layer_sizes")
    if not (isinstance(sizes, list) and 2 <= len(sizes) <= MAX_LAYERS
            and all(type(n) is int and 0 < n <= MAX_LAYER_WIDTH for n in sizes)):
        raise ModelFileError(f"{path}: {where} has no valid layer_sizes (2 to {MAX_LAYERS} widths "
                             f"from 1 to {MAX_LAYER_WIDTH:,})")
    if sizes[0] != INPUT_PIXELS or sizes[-1] not in CLASSES_BY_OUTPUTS:
        raise ModelFileError(f"{path}: a {'-'.join(map(str, sizes))} network does not read 28x28 digits "
                             f"(it must take {INPUT_PIXELS} inputs and give {DIGITS} outputs, or "
                             f"{DIGITS + 1} with {NOT_A_DIGIT!r})")
    channels = metadata.get("convolutions", [])
    if not (isinstance(channels, list) and all(type(c) is int and 0 < c <= MAX_CHANNELS for c in channels)
            and len(channels) <= MAX_CONVOLUTIONS):
        raise ModelFileError(f"{path}: {where} convolutions must be a list of at most {MAX_CONVOLUTIONS} "
                             f"channel counts from 1 to {MAX_CHANNELS}")
    if metadata.get("classes", CLASSES_BY_OUTPUTS[sizes[-1]]) != CLASSES_BY_OUTPUTS[sizes[-1]]:
        raise ModelFileError(f"{path}: {where} classes {metadata['classes']!r} are not those of a "
                             f"{sizes[-1]}-output digit model")
    preparation = metadata.get("input_preparation", {})
    if not (isinstance(preparation, dict) and isinstance(preparation.get("deslant", False), bool)):
        raise ModelFileError(f"{path}: {where} input_preparation must be an object with a true/false deslant")
    for problem in metadata_problems(metadata):
        raise ModelFileError(f"{path}: {where} {problem}")


def _refuse_non_finite(constant: str):
    raise json.JSONDecodeError(f"{constant} is not a JSON number", constant, 0)


def json_depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar: 0), without recursing."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def finite_number(value) -> bool:
    """True for a JSON number that is finite (not a bool, not a string)."""
    return type(value) in (int, float) and math.isfinite(value)


def count_at_least(low: int):
    """A check that a JSON value is an int (not a bool) of at least ``low``."""
    return lambda value: type(value) is int and value >= low


def field_problems(values: dict, fields: dict) -> list[str]:
    """One phrase for each key of ``fields`` ({key: (check, "what it must be")}) present in ``values``
    whose value fails its check."""
    return [f"field {key!r} must be {what}" for key, (check, what) in fields.items()
            if key in values and not check(values[key])]


# What each metadata field must be when present (a field not listed may hold any JSON).
METADATA_FIELDS = {
    "digitnet_version": (lambda v: isinstance(v, str), "a string"),
    "created": (lambda v: isinstance(v, str), "a string"),
    "dtype": (lambda v: v in ("float32", "float64"), '"float32" or "float64"'),
    "activations": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                    "an object of names"),
    "input": (lambda v: isinstance(v, dict), "an object"),
    "recipe": (lambda v: isinstance(v, dict), "an object"),
    "data": (lambda v: isinstance(v, dict), "an object"),
    "metrics": (lambda v: isinstance(v, dict), "an object"),
    "calibration": (lambda v: isinstance(v, dict), "an object"),
    "training_seconds": (lambda v: finite_number(v) and v >= 0, "a number of seconds >= 0"),
    "blas_threads": (lambda v: type(v) is int and 1 <= v <= MAX_BLAS_THREADS, f"a count from 1 to {MAX_BLAS_THREADS}"),
    "epochs_run": (count_at_least(0), "a count >= 0"),
    "best_epoch": (count_at_least(0), "an epoch number >= 0"),
    "training_state": (lambda v: isinstance(v, dict), "an object"),
}


def metadata_problems(metadata: dict) -> list[str]:
    """What is wrong with the fields of ``metadata`` (empty when nothing is), one phrase each."""
    problems = field_problems(metadata, METADATA_FIELDS)
    temperature = (metadata.get("calibration") or {}).get("temperature", 1.0) if not problems else 1.0
    low, high = TEMPERATURE_RANGE
    if not (finite_number(temperature) and low <= temperature <= high):
        problems.append(f"calibration temperature must be a number from {low:g} to {high:g}, got {temperature!r}")
    return problems


def _build_network(path: Path, arrays: dict, metadata: dict) -> Network:
    """The network of ``arrays`` (names and shapes already checked against the layer sizes)."""
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise ModelFileError(f"{path}: {name} holds non-finite values")
    channels = metadata.get("convolutions", [])
    layers = len(channels) + len(metadata["layer_sizes"]) - 1
    activations = metadata.get("activations", {})
    hidden = activations.get("hidden", DEFAULT_ACTIVATION) if isinstance(activations, dict) else activations
    if not isinstance(hidden, str) or hidden not in ACTIVATIONS:
        raise ModelFileError(f"{path}: unknown hidden activation {hidden!r} (known: {', '.join(ACTIVATIONS)})")
    weights, biases = [arrays[f"W{i}"] for i in range(layers)], [arrays[f"b{i}"] for i in range(layers)]
    return ConvNetwork(weights, biases, channels, hidden) if channels else Network(weights, biases, hidden)
