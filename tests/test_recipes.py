"""Recipes (named, TOML, inside models), augmented training, exact resume, and calibration."""

from dataclasses import replace

import numpy as np
import pytest

from digitnet.cli import main
from digitnet.data import FILE_STEMS, Split, split_train_validation
from digitnet.errors import ModelFileError, TrainingError
from digitnet.evaluation.calibration import expected_calibration_error, fit_temperature
from digitnet.idx import write_idx
from digitnet.modelfile import Model, load_model, save_model
from digitnet.nn.losses import softmax
from digitnet.nn.network import Network
from digitnet.training import (StopRequest, TrainingConfig, TrainingRun, evaluate_split, load_checkpoint,
                               save_checkpoint, train)
from digitnet.training.augmentation import Augmentation
from digitnet.training.recipes import BEST, SEED, Recipe, load_recipe, recipe_to_toml
from digitnet.training.schedules import Schedule


@pytest.fixture(scope="module")
def small_mnist_dir(mnist, tmp_path_factory):
    """IDX files with the first 1,500 training and 500 test images of MNIST, for quick CLI runs."""
    directory = tmp_path_factory.mktemp("small-mnist")
    parts = {"train_images": mnist.train_images[:1500], "train_labels": mnist.train_labels[:1500],
             "test_images": mnist.test_images[:500], "test_labels": mnist.test_labels[:500]}
    for name, array in parts.items():
        write_idx(directory / FILE_STEMS[name], array)
    return directory


def test_seed_recipe_is_the_original():
    c = SEED.config
    assert (c.learning_rate, c.batch_size, c.epochs, c.momentum, c.weight_decay) == (0.1, 32, 200, 0.0, 0.0)
    assert c.schedule == Schedule() and not c.augmentation.enabled and c.layer_sizes == (784, 128, 64, 10)


@pytest.mark.parametrize("recipe", [SEED, BEST, Recipe.from_dict({
    "name": "odd", "layer_sizes": [784, 32, 10], "learning_rate": 0.0125, "momentum": 0.5, "epochs": 3,
    "schedule": {"kind": "step", "step_every": 2, "step_factor": 0.3}, "augmentation": {"elastic": 0.75},
    "patience": 4, "validation_size": 100, "calibrate": True})])
def test_recipe_files_round_trip(recipe, tmp_path):
    path = tmp_path / f"{recipe.name}.toml"
    path.write_text(recipe_to_toml(recipe))
    assert load_recipe(str(path)) == recipe


def test_a_recipe_file_needs_only_what_differs_from_seed(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('momentum = 0.9\n[augmentation]\nshift = 1.5\n')
    recipe = load_recipe(str(path))
    assert recipe.name == "mine"
    assert recipe.config == replace(SEED.config, momentum=0.9, augmentation=Augmentation(shift=1.5))


@pytest.mark.parametrize("text, reason", [("momentum = [", "not a valid TOML"), ("lr = 0.1", "unknown recipe keys: lr"),
                                          ("momentum = 1.5", "momentum"), ("[augmentation]\nswirl = 1", "swirl"),
                                          ("patience = 2\nvalidation_size = 0", "validation")])
def test_bad_recipe_files_say_why(text, reason, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TrainingError, match=reason):
        load_recipe(str(path))


def test_unknown_recipe_names_are_refused():
    with pytest.raises(TrainingError, match="no recipe of that name"):
        load_recipe("fastest")


def test_overriding_a_recipe_renames_it_unless_only_the_seed_changes():
    assert BEST.with_overrides(seed=2).name == "best"
    assert BEST.with_overrides(seed=2).config.seed == 2
    assert BEST.with_overrides(momentum=0.5).name == "best-modified"
    assert SEED.with_overrides(calibrate=True).calibrate and SEED.with_overrides(calibrate=True).name == "seed-modified"


def test_train_saves_the_recipe_in_the_model_and_can_repeat_it(small_mnist_dir, tmp_path, capsys):
    recipe_file = tmp_path / "quick.toml"
    recipe_file.write_text(recipe_to_toml(replace(BEST, name="quick", validation_size=300,
                                                  config=replace(BEST.config, epochs=2, batch_size=64))))
    out = tmp_path / "quick.npz"
    assert main(["train", "--recipe", str(recipe_file), "--data-dir", str(small_mnist_dir), "--quiet",
                 "--out", str(out)]) == 0
    model = load_model(out)
    assert load_recipe(str(out)) == load_recipe(str(recipe_file))
    assert model.metadata["recipe"]["augmentation"]["elastic"] == BEST.config.augmentation.elastic
    calibration = model.metadata["calibration"]
    assert calibration["temperature"] == pytest.approx(model.temperature) and model.temperature != 1.0
    assert set(calibration["test"]) == {"ece", "ece_scaled"}
    assert 1 <= model.metadata["best_epoch"] <= 2


def test_bad_training_options_exit_with_one_line(capsys):
    assert main(["train", "--recipe", "best", "--validation", "0", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("digitnet train: error:") and "\n" not in err


@pytest.mark.slow
def test_a_short_augmented_run_still_learns(mnist):
    train_split, validation = split_train_validation(mnist, 1000)
    subset = Split(train_split.images[:5000], train_split.labels[:5000])
    config = replace(BEST.config, epochs=3, batch_size=64, keep_best=False)
    run = train(TrainingRun.start(config), subset, validation)
    assert run.history[-1].validation_accuracy > 0.88
    assert run.history[-1].train_loss < run.history[0].train_loss


def stop_after(steps: int):
    """A reporter-driven stop request that fires after the given number of steps."""
    from digitnet.training import Reporter

    stop = StopRequest()

    class Counting(Reporter):
        done = 0

        def step_done(self, loss):
            self.done += 1
            stop.requested = self.done >= steps

    return Counting(), stop


def test_resuming_an_augmented_momentum_run_gives_the_same_weights(mnist, tmp_path):
    train_split, validation = split_train_validation(mnist, 200)
    subset = Split(train_split.images[:640], train_split.labels[:640])
    config = replace(BEST.config, epochs=3, batch_size=64, patience=5)
    straight = train(TrainingRun.start(config), subset, validation)
    reporter, stop = stop_after(13)  # the middle of epoch 2
    interrupted = train(TrainingRun.start(config), subset, validation, reporter=reporter, stop=stop)
    assert not interrupted.finished
    save_checkpoint(tmp_path / "run.ckpt.npz", interrupted)
    resumed, _ = load_checkpoint(tmp_path / "run.ckpt.npz")
    assert resumed.velocity.shape == (sum(p.size for p in resumed.network.parameters),)
    assert resumed.best_network is not None
    train(resumed, subset, validation)
    for a, b in zip(straight.network.parameters, resumed.network.parameters):
        np.testing.assert_array_equal(a, b)
    assert resumed.best_epoch == straight.best_epoch


def test_expected_calibration_error_is_zero_when_confidence_matches_accuracy():
    # 10 examples at confidence 0.8, of which 8 are right; 10 at 0.6 with 6 right.
    probabilities = np.zeros((20, 10))
    probabilities[:10, 0], probabilities[:10, 1:] = 0.8, 0.2 / 9
    probabilities[10:, 0], probabilities[10:, 1:] = 0.6, 0.4 / 9
    labels = np.array([0] * 8 + [1] * 2 + [0] * 6 + [1] * 4)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0)
    labels[:10] = 0  # now the 0.8-confident bin is always right: under-confident by 0.2 on half the data
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.1)


def test_temperature_scaling_recovers_the_temperature_of_over_confident_logits():
    rng = np.random.default_rng(0)
    honest = rng.normal(size=(20000, 10)) * 1.5
    labels = np.array([rng.choice(10, p=p) for p in softmax(honest)])
    temperature = fit_temperature(honest * 3, labels)  # three times too sure of itself
    assert temperature == pytest.approx(3, rel=0.05)
    assert expected_calibration_error(softmax(honest * 3 / temperature), labels) < \
        expected_calibration_error(softmax(honest * 3), labels) / 3


def test_model_probabilities_use_the_stored_temperature(tmp_path):
    network = Network.initialised((784, 8, 10), np.random.default_rng(0))
    x = np.random.default_rng(1).random((5, 784), dtype=np.float32)
    save_model(tmp_path / "m.npz", Model(network, {"calibration": {"temperature": 2.0}}))
    model = load_model(tmp_path / "m.npz")
    np.testing.assert_allclose(model.predict_proba(x), softmax(network.logits(x) / 2), rtol=1e-6)
    assert (model.predict_proba(x).argmax(axis=1) == network.predict(x)).all()


@pytest.mark.parametrize("temperature", [0, -1.0, "hot", None])
def test_a_bad_stored_temperature_is_refused(temperature, tmp_path):
    network = Network.initialised((784, 8, 10), np.random.default_rng(0))
    save_model(tmp_path / "m.npz", Model(network, {"calibration": {"temperature": temperature}}))
    with pytest.raises(ModelFileError, match="temperature"):
        load_model(tmp_path / "m.npz")


def test_shipped_models_can_be_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file called "seed" here
    from digitnet.modelfile import resolve_model_path, shipped_model_path

    assert resolve_model_path("seed") == shipped_model_path("seed")
    assert resolve_model_path(None) == shipped_model_path("reader")
    (tmp_path / "seed").write_bytes(b"")
    assert resolve_model_path("seed").name == "seed" and resolve_model_path("seed") != shipped_model_path("seed")


def test_the_shipped_best_model_was_made_by_the_best_recipe_and_reaches_98_8_percent(mnist_test):
    from digitnet.evaluation import evaluate_model
    from digitnet.modelfile import shipped_model_path

    model = load_model(shipped_model_path("best"))
    assert load_recipe(str(shipped_model_path("best"))) == BEST
    evaluation = evaluate_model(model, mnist_test)
    assert evaluation.accuracy >= 0.988
    assert evaluation.accuracy == pytest.approx(model.metadata["metrics"]["test_accuracy"], abs=1e-6)
    assert model.temperature == model.metadata["calibration"]["temperature"]


def test_the_conv_recipe_is_the_best_recipe_with_convolutions_and_survives_a_toml_file(tmp_path):
    conv = load_recipe("conv")
    assert conv.config.convolutions == (16, 32) and conv.config.trainer == "reference"
    assert replace(conv.config, convolutions=(), layer_sizes=BEST.config.layer_sizes, trainer=BEST.config.trainer,
                   epochs=BEST.config.epochs) == BEST.config
    path = tmp_path / "conv.toml"
    path.write_text(recipe_to_toml(conv))
    assert load_recipe(str(path)) == conv
    assert TrainingRun.start(conv.config).network.architecture == "784-conv16-conv32-256-10"
