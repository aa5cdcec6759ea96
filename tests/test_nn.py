"""The network's maths against textbook definitions and finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digitnet.nn.fused import FusedSGDTrainer
from digitnet.nn.losses import log_softmax, softmax, softmax_cross_entropy
from digitnet.nn.network import Network
from digitnet.nn.optim import sgd_step


def relative_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12)


def test_gradients_match_central_finite_differences_for_every_parameter(rng):
    network = Network.initialised((6, 5, 4, 3), rng, dtype=np.float64)
    for b in network.biases:  # non-zero biases so that their gradients are exercised too
        b[:] = rng.normal(size=b.shape) * 0.1
    x = rng.normal(size=(7, 6))
    labels = rng.integers(0, 3, size=7)
    _, analytic = network.loss_and_gradients(x, labels)
    h = 1e-6
    for param, grad in zip(network.parameters, analytic):
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            plus, _ = network.loss_and_gradients(x, labels)
            param[index] = saved - h
            minus, _ = network.loss_and_gradients(x, labels)
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * h)
        assert relative_error(grad, numeric) < 1e-6


def test_every_parameter_changes_after_one_sgd_step(rng):
    network = Network.initialised((784, 128, 64, 10), rng)
    before = [p.copy() for p in network.parameters]
    x = rng.random((32, 784), dtype=np.float32)
    labels = rng.integers(0, 10, size=32)
    FusedSGDTrainer(network, 32).step(x, labels, np.arange(32), learning_rate=0.1)
    for i, (old, new) in enumerate(zip(before, network.parameters)):
        assert not np.array_equal(old, new), f"parameter {i} did not change"


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_cross_entropy_is_finite_and_correct_for_huge_logits(scale):
    logits = np.array([[scale, 0.0, -scale], [0.0, 0.0, 0.0]])
    labels = np.array([0, 1])
    loss, dlogits = softmax_cross_entropy(logits, labels)
    winner = 0 if scale > 0 else 2
    expected_first = 0.0 if winner == 0 else 2 * abs(scale)  # -log softmax = max - logit
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    assert loss == pytest.approx((expected_first + np.log(3)) / 2)
    assert np.allclose(softmax(logits).sum(axis=1), 1)
    assert np.isfinite(log_softmax(logits)).all()


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_batch(rng):
    logits = rng.normal(size=(4, 10))
    labels = np.array([3, 1, 4, 1])
    _, dlogits = softmax_cross_entropy(logits, labels)
    expected = softmax(logits) - np.eye(10)[labels]
    assert np.allclose(dlogits, expected / 4)


@pytest.mark.parametrize("blank", [False, True], ids=["dense", "blank-pixels"])
@pytest.mark.parametrize("dtype,tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_fused_trainer_equals_reference_network_and_sgd(rng, dtype, tolerance, blank):
    reference = Network.initialised((784, 32, 16, 10), rng, dtype=dtype)
    fast = reference.copy()
    trainer = FusedSGDTrainer(fast, batch_size=32)
    images = rng.random((500, 784)).astype(dtype)
    if blank:  # as in MNIST: a border blank in every image, and ink elsewhere only here and there
        images[:, rng.random(784) < 0.3] = 0
        images[rng.random(images.shape) < 0.9] = 0
    labels = rng.integers(0, 10, size=500)
    for step in range(25):
        batch = rng.permutation(500)[: 32 if step % 4 else 13]  # includes short final batches
        reference_loss, grads = reference.loss_and_gradients(images[batch], labels[batch])
        sgd_step(reference.parameters, grads, 0.1)
        fast_loss = trainer.step(images, labels, batch, 0.1)
        assert fast_loss == pytest.approx(reference_loss, rel=tolerance * 10)
    for ours, theirs in zip(fast.parameters, reference.parameters):
        assert np.abs(ours - theirs).max() < tolerance


def test_predict_proba_rows_are_distributions_and_predict_is_their_argmax(rng):
    network = Network.initialised((784, 16, 10), rng)
    x = rng.random((25, 784), dtype=np.float32)
    probabilities = network.predict_proba(x)
    assert probabilities.shape == (25, 10)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(network.predict(x), probabilities.argmax(axis=1))


def test_he_initialisation_has_the_textbook_spread():
    network = Network.initialised((784, 512, 10), np.random.default_rng(0))
    assert network.weights[0].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert all((b == 0).all() for b in network.biases)
    assert network.dtype == np.float32


def test_mismatched_layers_are_refused():
    with pytest.raises(ValueError, match="layer 1 takes"):
        Network([np.zeros((4, 3)), np.zeros((5, 2))], [np.zeros(3), np.zeros(2)])


@given(arrays(np.float64, (3, 10), elements=st.floats(-1e6, 1e6)), st.lists(st.integers(0, 9), min_size=3, max_size=3))
def test_softmax_cross_entropy_is_finite_and_non_negative_for_any_finite_logits(logits, labels):
    loss, dlogits = softmax_cross_entropy(logits, np.array(labels))
    assert np.isfinite(loss) and loss >= 0
    assert np.isfinite(dlogits).all()
    assert np.allclose(dlogits.sum(axis=1), 0, atol=1e-9)  # each row: probabilities minus a one-hot
