"""An exported ONNX graph gives digitnet's own probabilities in onnxruntime, with digitnet nowhere in the loop."""

import subprocess
import sys

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from digitnet.data import as_network_input  # noqa: E402
from digitnet.errors import ModelFileError  # noqa: E402
from digitnet.modelfile import Model, describe_network, load_model  # noqa: E402
from digitnet.nn.convnet import ConvNetwork  # noqa: E402
from digitnet.nn.network import Network  # noqa: E402
from digitnet.onnx_export import to_onnx  # noqa: E402

TOLERANCE = 1e-5


def run_onnx(graph, pixels: np.ndarray) -> np.ndarray:
    """pixels (n, 28, 28) uint8 -> the graph's probabilities (n, classes), computed by onnxruntime."""
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    probabilities, = session.run(["probabilities"], {"pixels": pixels})
    return probabilities


@pytest.mark.parametrize("name", ["reader", "best", "seed"])
def test_the_exported_shipped_model_gives_digitnets_probabilities_on_the_mnist_test_set(tmp_path, mnist, name):
    out = tmp_path / f"{name}.onnx"
    result = subprocess.run([sys.executable, "-m", "digitnet", "export", name, "--onnx", out],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probabilities, = session.run(["probabilities"], {"pixels": mnist.test_images})
    model = load_model(name)
    expected = model.predict_proba(as_network_input(mnist.test_images))
    assert probabilities.shape == (10000, len(model.classes))
    assert np.abs(probabilities - expected).max() < TOLERANCE
    assert (probabilities.argmax(axis=1) == expected.argmax(axis=1)).all()


def random_model(rng, sizes, activations=None, temperature=1.5) -> Model:
    network = Network.initialised(sizes, rng)
    metadata = {**describe_network(network), "calibration": {"temperature": temperature}}
    if activations is not None:
        metadata["activations"] = activations
    return Model(network, metadata)


def test_a_network_with_convolutions_exports_its_convolutions_and_pooling(rng, mnist):
    network = ConvNetwork.initialised((4, 6), (784, 12, 11), rng)
    for b in network.biases:
        b[:] = rng.normal(size=b.shape) * 0.1
    model = Model(network, {**describe_network(network), "calibration": {"temperature": 1.5}})
    pixels = mnist.test_images[:300]
    probabilities = run_onnx(to_onnx(model), pixels)
    assert np.abs(probabilities - model.predict_proba(as_network_input(pixels))).max() < TOLERANCE


def test_a_model_with_eleven_outputs_exports_all_eleven(rng, mnist):
    model = random_model(rng, (784, 32, 11))
    pixels = mnist.test_images[:500]
    probabilities = run_onnx(to_onnx(model), pixels)
    assert probabilities.shape == (500, 11)
    assert np.abs(probabilities - model.predict_proba(as_network_input(pixels))).max() < TOLERANCE


# The textbook definition of each activation digitnet names, to hold the exported operators to.
TEXTBOOK = {
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
}


@pytest.mark.parametrize("activation", sorted(TEXTBOOK))
def test_each_hidden_activation_becomes_its_onnx_operator(rng, mnist, activation):
    model = random_model(rng, (784, 24, 16, 10), {"hidden": activation, "output": "softmax"}, temperature=0.8)
    pixels = mnist.test_images[:200]
    x = as_network_input(pixels).astype(np.float64)
    for i, (w, b) in enumerate(zip(model.network.weights, model.network.biases)):
        x = x @ w + b
        x = TEXTBOOK[activation](x) if i < 2 else x / 0.8
    expected = np.exp(x - x.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.abs(run_onnx(to_onnx(model), pixels) - expected).max() < TOLERANCE


def test_per_layer_activations_are_exported_layer_by_layer(rng, mnist):
    model = random_model(rng, (784, 24, 16, 10), {"hidden": ["tanh", "relu"], "output": "softmax"})
    graph = to_onnx(model)
    assert [node.op_type for node in graph.graph.node if node.op_type in ("Tanh", "Relu")] == ["Tanh", "Relu"]


@pytest.mark.parametrize("activations", [{"hidden": "swish", "output": "softmax"},
                                         {"hidden": "relu", "output": "sigmoid"},
                                         {"hidden": ["relu"], "output": "softmax"}])
def test_an_activation_onnx_cannot_express_is_a_model_file_error(rng, activations):
    with pytest.raises(ModelFileError, match="cannot export"):
        to_onnx(random_model(rng, (784, 24, 16, 10), activations))
