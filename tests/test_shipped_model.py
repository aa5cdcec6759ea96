"""The model that ships inside the package."""

import pytest

from digitnet.evaluation import evaluate_model
from digitnet.modelfile import SHIPPED_MODELS, load_model, shipped_model_path


def test_the_seed_recipe_model_reaches_98_percent_on_the_real_mnist_test_set(mnist_test):
    model = load_model(shipped_model_path("seed"))
    recipe = model.metadata["recipe"]
    assert (recipe["learning_rate"], recipe["batch_size"], recipe["epochs"]) == (0.1, 32, 200)
    assert recipe["validation_size"] == 0 and model.metadata["layer_sizes"] == [784, 128, 64, 10]
    accuracy = evaluate_model(model, mnist_test).accuracy
    assert accuracy >= 0.980
    assert accuracy == pytest.approx(model.metadata["metrics"]["test_accuracy"], abs=1e-6)


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_every_shipped_model_loads(name):
    assert load_model(shipped_model_path(name)).network.layer_sizes[0] == 784
