"""Model files: round trip, atomic saving, and every kind of bad file refused without unpickling."""

import json

import numpy as np
import pytest

from digitnet.errors import ModelFileError
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.convnet import ConvNetwork
from digitnet.nn.network import Network


@pytest.fixture
def saved(tmp_path, rng):
    model = Model(Network.initialised((784, 16, 10), rng), {"recipe": {"learning_rate": 0.1}})
    return save_model(tmp_path / "m.npz", model), model


def test_round_trip_gives_identical_predictions_and_metadata(saved, rng):
    path, model = saved
    loaded = load_model(path)
    x = rng.random((50, 784), dtype=np.float32)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.metadata["recipe"] == {"learning_rate": 0.1}
    assert loaded.metadata["layer_sizes"] == [784, 16, 10]
    assert loaded.metadata["format_version"] == 1 and "created" in loaded.metadata


def rewrite(path, tmp_path, change):
    """A copy of the model file at ``path`` with its arrays passed through ``change(arrays)``."""
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    change(arrays)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


def set_metadata(key, value):
    def change(arrays):
        metadata = json.loads(str(arrays["metadata"]))
        metadata[key] = value
        arrays["metadata"] = np.array(json.dumps(metadata))
    return change


@pytest.mark.parametrize("change,message", [
    (lambda a: a.update(W0=np.zeros((10, 16), np.float32)), "W0 has shape"),
    (lambda a: a.pop("b1"), "holds arrays"),
    (lambda a: a.pop("metadata"), "no metadata"),
    (lambda a: a.update(metadata=np.array("{not json")), "not valid JSON"),
    (lambda a: a.update(metadata=np.array(b"bytes")), "not a JSON string"),
    (set_metadata("format_version", 99), "version 99 is not supported"),
    (set_metadata("format", "something-else"), "not a digitnet model"),
    (set_metadata("layer_sizes", [784, 16, 16, 10]), "holds arrays"),
    (set_metadata("layer_sizes", [784, 16]), "does not read 28x28 digits"),
    (lambda a: a["W1"].__setitem__((0, 0), np.nan), "non-finite"),
    (lambda a: a.update(W0=a["W0"].astype(np.int32)), "dtype"),
])
def test_damaged_model_files_are_refused_with_a_clear_message(saved, tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(rewrite(saved[0], tmp_path, change))


def test_object_arrays_are_refused_without_being_unpickled(saved, tmp_path):
    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("the model file was unpickled",))

    bad = rewrite(saved[0], tmp_path, lambda a: a.update(W0=np.array([Boom()], dtype=object)))
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(bad)


@pytest.mark.parametrize("content,message", [
    (b"", "not a .npz model file"),
    (b"hello, not a model", "not a .npz model file"),
    (b"\x80\x04K\x01.", "not a .npz model file"),  # a pickle of the number 1
    (b"PK\x03\x04truncated", "not a valid .npz model file"),
])
def test_non_model_files_are_refused(tmp_path, content, message):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_truncated_model_file_is_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "t.npz")


def test_missing_file_and_directory_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="not a file"):
        load_model(tmp_path)


def test_a_failed_save_leaves_the_previous_file_intact(saved, monkeypatch):
    path, model = saved
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError):
        save_model(path, model)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_network_that_does_not_read_28x28_digits_is_refused(tmp_path, rng):
    path = save_model(tmp_path / "m.npz", Model(Network.initialised((100, 8, 10), rng)))
    with pytest.raises(ModelFileError, match="does not read 28x28 digits"):
        load_model(path)


def test_saving_describes_the_network_saved_not_stale_metadata(tmp_path, rng):
    model = Model(Network.initialised((784, 8, 10), rng), {"layer_sizes": [784, 128, 64, 10], "dtype": "float64"})
    loaded = load_model(save_model(tmp_path / "m.npz", model))
    assert loaded.metadata["layer_sizes"] == [784, 8, 10] and loaded.metadata["dtype"] == "float32"


def test_an_eleven_output_model_round_trips_with_its_class_names_and_input_preparation(tmp_path, rng):
    model = Model(Network.initialised((784, 16, 11), rng), {"input_preparation": {"deslant": True}})
    loaded = load_model(save_model(tmp_path / "reader.npz", model))
    x = rng.random((20, 784), dtype=np.float32)
    assert loaded.classes[:10] == [str(d) for d in range(10)] and loaded.classes[10] == "not a digit"
    assert loaded.metadata["classes"] == loaded.classes
    assert loaded.predict_proba(x).shape == (20, 11)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert np.array_equal(loaded.digit_logits(x), model.network.logits(x)[:, :10])
    assert loaded.deslants_input


def test_models_that_say_nothing_about_their_input_are_not_deslanted(saved):
    assert not load_model(saved[0]).deslants_input
    assert load_model(saved[0]).classes == [str(d) for d in range(10)]


@pytest.mark.parametrize("change,message", [
    (set_metadata("classes", ["a"] * 10), "classes"),
    (set_metadata("input_preparation", {"deslant": "yes"}), "deslant"),
])
def test_bad_class_names_or_input_preparation_are_refused(saved, tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(rewrite(saved[0], tmp_path, change))


def test_a_network_with_twelve_outputs_is_refused(tmp_path, rng):
    path = save_model(tmp_path / "m.npz", Model(Network.initialised((784, 8, 12), rng)))
    with pytest.raises(ModelFileError, match="does not read 28x28 digits"):
        load_model(path)


@pytest.fixture
def saved_convolutional(tmp_path, rng):
    model = Model(ConvNetwork.initialised((3, 5), (784, 8, 11), rng), {})
    return save_model(tmp_path / "conv.npz", model), model


def test_a_network_with_convolutions_round_trips_with_its_channels(saved_convolutional, rng):
    path, model = saved_convolutional
    loaded = load_model(path)
    assert isinstance(loaded.network, ConvNetwork) and loaded.network.channels == (3, 5)
    assert loaded.metadata["convolutions"] == [3, 5] and loaded.metadata["layer_sizes"] == [784, 8, 11]
    x = rng.random((20, 784), dtype=np.float32)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))


@pytest.mark.parametrize("channels, problem", [
    ([3, 6], "holds arrays|expected"),            # kernels of another shape than the metadata says
    ([3, 5, 7], "at most 2"),                     # more convolutions than fit a 28x28 digit
    ("3,5", "convolutions must be a list"),
    ([3, 0], "convolutions must be a list"),
])
def test_convolutions_that_do_not_match_the_arrays_are_refused(saved_convolutional, tmp_path, channels, problem):
    path, _ = saved_convolutional
    with pytest.raises(ModelFileError, match=problem):
        load_model(rewrite(path, tmp_path, set_metadata("convolutions", channels)))


@pytest.fixture
def saved_ensemble(tmp_path, rng):
    """A dense 11-output model with a convolutional member, both reading deslanted crops."""
    deslanted = {"input_preparation": {"deslant": True}}
    member = Model(ConvNetwork.initialised((3, 5), (784, 8, 11), rng),
                   {**deslanted, "calibration": {"temperature": 2.0}})
    model = Model(Network.initialised((784, 16, 11), rng), {**deslanted, "recipe": {"name": "reader"}},
                  members=[member])
    return save_model(tmp_path / "ensemble.npz", model), model


def test_an_ensemble_round_trips_and_reads_with_the_mean_of_its_networks(saved_ensemble, rng):
    path, model = saved_ensemble
    loaded = load_model(path)
    assert len(loaded.members) == 1 and loaded.members[0].network.channels == (3, 5)
    assert loaded.members[0].temperature == 2.0 and loaded.deslants_input
    assert loaded.metadata["members"][0]["convolutions"] == [3, 5]
    x = rng.random((20, 784), dtype=np.float32)
    mean = (loaded.network_proba(x) + loaded.members[0].network_proba(x)) / 2
    assert np.allclose(loaded.predict_proba(x), mean, atol=1e-6)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert (loaded.digit_logits(x).argmax(axis=1) == mean[:, :10].argmax(axis=1)).all()
    assert not np.allclose(loaded.network_proba(x), mean)  # the member does take part


def set_member(key, value):
    def change(arrays):
        metadata = json.loads(str(arrays["metadata"]))
        metadata["members"][0][key] = value
        arrays["metadata"] = np.array(json.dumps(metadata))
    return change


@pytest.mark.parametrize("change, problem", [
    (lambda a: a.pop("member1_W2"), "holds arrays"),
    (lambda a: a.update(member1_b0=np.zeros(4, np.float32)), "member1_b0 has shape"),
    (set_member("layer_sizes", [784, 8, 10]), "10-output digit model|other outputs"),
    (set_member("input_preparation", {"deslant": False}), "other outputs or reads other inputs"),
    (set_member("convolutions", [3, 0]), "member 1's metadata convolutions"),
    (set_member("members", []), "members of its own"),
    (set_metadata("members", [{}] * 4), "at most 3"),
    (set_metadata("members", "all"), "must be a list"),
])
def test_an_ensemble_whose_members_do_not_fit_is_refused(saved_ensemble, tmp_path, change, problem):
    path, _ = saved_ensemble
    with pytest.raises(ModelFileError, match=problem):
        load_model(rewrite(path, tmp_path, change))
