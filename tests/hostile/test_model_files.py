"""Hostile model files and checkpoints: each is refused with one ModelFileError (one line on the
CLI, exit 2) before it costs memory, or loads as a valid model; byte-flip mutants likewise."""

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from digitnet.errors import ModelFileError
from digitnet.modelfile import MAX_METADATA_CHARS, MAX_METADATA_DEPTH, load_model, shipped_model_path
from digitnet.training import load_checkpoint
from tests.hostile.running import run_cli
from tests.hostile.inputs import byte_flip_mutants


def shipped_arrays() -> dict[str, np.ndarray]:
    with np.load(shipped_model_path("seed"), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def metadata_of(arrays) -> dict:
    return json.loads(str(arrays["metadata"]))


def with_metadata(**changes) -> dict[str, np.ndarray]:
    arrays = shipped_arrays()
    arrays["metadata"] = np.array(json.dumps({**metadata_of(arrays), **changes}))
    return arrays


def npz_bytes(arrays: dict, compressed: bool = False, extra_members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    if extra_members:
        with zipfile.ZipFile(buffer, "a") as archive:
            for name, data in extra_members.items():
                archive.writestr(name, data)
    return buffer.getvalue()


def npy_with_header(shape, dtype="<f4", data: bytes = b"\0" * 64) -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def declaring_member_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` (a zip) with the directory entry of ``member`` declaring ``size`` bytes decompressed."""
    data = bytearray(data)
    entry = data.index(b"PK\x01\x02")  # the first directory entry
    while True:
        name_length = struct.unpack("<H", data[entry + 28 : entry + 30])[0]
        if data[entry + 46 : entry + 46 + name_length].decode() == member:
            data[entry + 24 : entry + 28] = struct.pack("<I", size)
            return bytes(data)
        entry = data.index(b"PK\x01\x02", entry + 4)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def corrupt_deflate() -> bytes:
    data = bytearray(npz_bytes(shipped_arrays(), compressed=True))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    return bytes(data)


def deep_json(depth: int) -> str:
    metadata = metadata_of(shipped_arrays())
    return json.dumps(metadata)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"


def metadata_json(text: str) -> bytes:
    arrays = shipped_arrays()
    arrays["metadata"] = np.array(text)
    return npz_bytes(arrays)


def huge_shape_header() -> bytes:
    arrays = shipped_arrays()
    members = {f"{name}.npy": _npy(array) for name, array in arrays.items()}
    members["W0.npy"] = npy_with_header((784, 2**40))
    return zip_of(members)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


# name -> (file bytes, words the one-line error holds)
TAMPERED = {
    "corrupt_deflate": (corrupt_deflate, "not a valid .npz"),
    "deeply_nested_metadata": (lambda: metadata_json(deep_json(100_000)), "nests deeper"),
    "nested_just_past_the_limit": (lambda: metadata_json(deep_json(MAX_METADATA_DEPTH)), "nests deeper"),
    "member_not_npy": (lambda: npz_bytes(shipped_arrays(), extra_members={"run.sh": b"rm -rf /"}), "not a .npy"),
    "npy_header_declares_huge_shape": (huge_shape_header, "has shape"),
    "member_declares_3_gib": (lambda: declaring_member_size(npz_bytes(shipped_arrays()), "W0.npy", 3 * 2**30),
                              "would decompress to"),
    "metadata_over_the_limit": (lambda: metadata_json(json.dumps({"format": "digitnet-model",
                                                                  "pad": "x" * (MAX_METADATA_CHARS + 1)})),
                                "holds"),
    "thousands_of_members": (lambda: zip_of({f"s{i}.npy": b"" for i in range(5000)}), "members"),
    "recipe_a_list": (lambda: npz_bytes(with_metadata(recipe=[1, 2])), "'recipe' must be an object"),
    "data_a_string": (lambda: npz_bytes(with_metadata(data="mnist")), "'data' must be an object"),
    "metrics_a_number": (lambda: npz_bytes(with_metadata(metrics=3)), "'metrics' must be an object"),
    "temperature_1e-300": (lambda: npz_bytes(with_metadata(calibration={"temperature": 1e-300})), "temperature"),
    "temperature_1e300": (lambda: npz_bytes(with_metadata(calibration={"temperature": 1e300})), "temperature"),
    "temperature_a_string": (lambda: npz_bytes(with_metadata(calibration={"temperature": "1"})), "temperature"),
    "nan_in_metadata": (lambda: metadata_json(deep_json(1).replace("[]", "NaN")), "NaN is not a JSON number"),
    "layer_sizes_huge": (lambda: npz_bytes(with_metadata(layer_sizes=[784, 10**12, 10])), "layer_sizes"),
    "layer_sizes_bools": (lambda: npz_bytes(with_metadata(layer_sizes=[784, True, 10])), "layer_sizes"),
    "blas_threads_1000": (lambda: npz_bytes(with_metadata(blas_threads=1000)), "blas_threads"),
    "big_endian_weights": (lambda: npz_bytes({**shipped_arrays(), "W0": shipped_arrays()["W0"].astype(">f4")}),
                           "float32 or float64"),
    "npy_version_3": (lambda: zip_of({**{f"{n}.npy": _npy(a) for n, a in shipped_arrays().items()},
                                      "b0.npy": b"\x93NUMPY\x03\x00" + bytes(60)}), "format version"),
}


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_a_tampered_model_file_is_refused_in_one_line(kind, tmp_path):
    make, words = TAMPERED[kind]
    path = tmp_path / f"{kind}.npz"
    path.write_bytes(make())
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_fortran_ordered_model_loads_the_same_network(tmp_path):
    arrays = shipped_arrays()
    path = tmp_path / "fortran.npz"
    path.write_bytes(npz_bytes({**arrays, "W0": np.asfortranarray(arrays["W0"])}))
    assert np.array_equal(load_model(path).network.weights[0], arrays["W0"])


@pytest.mark.parametrize("kind", ["member_declares_3_gib", "deeply_nested_metadata", "temperature_1e-300"])
def test_the_cli_refuses_a_tampered_model_in_one_line_within_budget(kind, tmp_path):
    path = tmp_path / f"{kind}.npz"
    path.write_bytes(TAMPERED[kind][0]())
    run_cli("info", "--model", str(path)).assert_clean_error(2, TAMPERED[kind][1])


def test_byte_flip_mutants_of_a_model_file_load_or_raise_one_model_file_error(tmp_path, capfd, count_mutants):
    rng = np.random.default_rng(16)
    path, refused, mutants = tmp_path / "mutant.npz", 0, 300
    for mutant in byte_flip_mutants(npz_bytes(shipped_arrays(), compressed=True), mutants, rng):
        path.write_bytes(mutant)
        try:
            model = load_model(path)
        except ModelFileError as e:
            assert "\n" not in str(e)
            refused += 1
        else:
            assert all(np.isfinite(p).all() for p in model.network.parameters)
    assert refused > 100
    assert capfd.readouterr().err == ""
    count_mutants(mutants)


@pytest.fixture(scope="module")
def checkpoint_arrays(tmp_path_factory):
    """The arrays of a real checkpoint of a tiny run (one step of training, interrupted)."""
    from digitnet.training import TrainingConfig, TrainingRun, save_checkpoint

    run = TrainingRun.start(TrainingConfig(layer_sizes=(784, 8, 10), epochs=1, momentum=0.9))
    path = tmp_path_factory.mktemp("checkpoint") / "run.checkpoint.npz"
    save_checkpoint(path, run, {"out": "/tmp/x.npz", "validation_size": 0, "recipe_name": "custom",
                                "calibrate": False, "data_dir": None, "data_sha256": "0", "blas_threads": 1})
    load_checkpoint(path)  # the untampered one loads
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _state_change(**changes):
    def change(state):
        state.update(changes)
    return change


CHECKPOINT_TAMPERINGS = {
    "blas_threads_1000": _state_change(blas_threads=1000),
    "blas_threads_a_string": _state_change(blas_threads="4"),
    "config_a_list": _state_change(config=[1]),
    "config_unknown_key": lambda s: s["config"].update(colour="blue"),
    "schedule_a_string": lambda s: s["config"].update(schedule="cosine"),
    "learning_rate_a_string": lambda s: s["config"].update(learning_rate="fast"),
    "position_negative": _state_change(position={"epoch": -1, "step": 0, "epoch_loss_sum": 0.0}),
    "position_missing": lambda s: s.pop("position"),
    "history_a_dict": _state_change(history={}),
    "history_row_of_strings": _state_change(history=[{"epoch": "1", "train_loss": "x", "validation_loss": None,
                                                      "validation_accuracy": None, "test_accuracy": None,
                                                      "seconds": 1}]),
    "out_not_npz": _state_change(out="/etc/passwd"),
    "out_a_number": _state_change(out=7),
    "stopped_early_a_string": _state_change(stopped_early="no"),
    "layer_sizes_disagree": lambda s: s["config"].update(layer_sizes=[784, 9, 10]),
}


@pytest.mark.parametrize("kind", sorted(CHECKPOINT_TAMPERINGS))
def test_a_tampered_checkpoint_is_refused_in_one_line(kind, checkpoint_arrays, tmp_path):
    metadata = metadata_of(checkpoint_arrays)
    CHECKPOINT_TAMPERINGS[kind](metadata["training_state"])
    path = tmp_path / f"{kind}.npz"
    path.write_bytes(npz_bytes({**checkpoint_arrays, "metadata": np.array(json.dumps(metadata))}))
    with pytest.raises(ModelFileError) as caught:
        load_checkpoint(path)
    assert "\n" not in str(caught.value)
