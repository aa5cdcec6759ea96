"""DigitClassifier passes scikit-learn's own estimator checks and works in its pipelines and searches."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from digitnet import DigitClassifier  # noqa: E402
from digitnet.data import as_network_input  # noqa: E402

# scikit-learn warns that the estimator does not inherit its BaseEstimator: by design, digitnet does not import it.
pytestmark = pytest.mark.filterwarnings("ignore:Estimator DigitClassifier does not inherit:UserWarning")

# The checks that do not apply, each with the reason. Both need one of scikit-learn's own classes,
# which digitnet cannot raise without importing scikit-learn.
NOT_APPLICABLE = {
    "check_estimators_unfitted": "an unfitted DigitClassifier raises digitnet.classifier.NotFittedError, a "
                                 "ValueError and AttributeError like scikit-learn's NotFittedError, but not that class",
    "check_supervised_y_2d": "a column-vector y is refused with a ValueError, not raveled with scikit-learn's "
                             "DataConversionWarning",
}


@parametrize_with_checks([DigitClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, epochs=5, random_state=0)],
                         expected_failed_checks=lambda estimator: NOT_APPLICABLE)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def small_mnist(mnist):
    """2,000 MNIST training images and 2,000 test images: (X (n, 784) float32 in [0, 1], y (n,) uint8)."""
    return (as_network_input(mnist.train_images[:2000]), mnist.train_labels[:2000],
            as_network_input(mnist.test_images[:2000]), mnist.test_labels[:2000])


def test_the_same_random_state_gives_the_same_fit_and_another_a_different_one(small_mnist):
    X, y, X_test, _ = small_mnist
    fit = lambda seed: DigitClassifier((32,), epochs=1, random_state=seed).fit(X, y).predict_proba(X_test)  # noqa: E731
    assert np.array_equal(fit(3), fit(3))
    assert not np.allclose(fit(3), fit(4))


def test_partial_fit_epochs_continue_as_fit_does(small_mnist):
    X, y, X_test, _ = small_mnist
    whole = DigitClassifier((32,), epochs=2, momentum=0.9, random_state=5).fit(X, y)
    stepwise = DigitClassifier((32,), epochs=2, momentum=0.9, random_state=5)
    stepwise.partial_fit(X, y, classes=np.arange(10)).partial_fit(X, y)
    assert stepwise.n_iter_ == whole.n_iter_ == 2
    assert np.array_equal(stepwise.predict_proba(X_test), whole.predict_proba(X_test))


def test_labels_keep_their_values_and_the_hyper_parameters_stay_as_given(small_mnist):
    X, y, X_test, _ = small_mnist
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = DigitClassifier(hidden_layer_sizes=[32], epochs=1, random_state=0).fit(X, names[y])
    assert clf.hidden_layer_sizes == [32] and clf.n_features_in_ == 784
    assert sorted(clf.classes_) == sorted(names) and set(clf.predict(X_test)) <= set(names)


@pytest.mark.parametrize("params", [{"epochs": 0}, {"hidden_layer_sizes": (0,)}, {"hidden_layer_sizes": (8.5,)},
                                    {"learning_rate": -1.0}, {"batch_size": 0}, {"momentum": 1.5},
                                    {"dtype": "float16"}, {"random_state": "seven"}])
def test_invalid_hyper_parameters_are_refused_by_fit_not_by_init(params):
    clf = DigitClassifier(**params)
    assert clf.get_params()[next(iter(params))] == next(iter(params.values()))
    with pytest.raises(ValueError):
        clf.fit(np.eye(4), [0, 1, 0, 1])


def test_in_a_pipeline_a_scaler_lets_it_learn_from_raw_pixel_values(small_mnist):
    X, y, X_test, y_test = small_mnist
    pipeline = make_pipeline(StandardScaler(), DigitClassifier((64,), learning_rate=0.01, epochs=10, random_state=0))
    assert pipeline.fit(X * 255, y).score(X_test * 255, y_test) > 0.8


def test_grid_search_picks_among_its_hyper_parameters(small_mnist):
    X, y, X_test, y_test = small_mnist
    search = GridSearchCV(DigitClassifier(epochs=3, random_state=0),
                          {"hidden_layer_sizes": [(16,), (64,)], "learning_rate": [0.01, 0.1]}, cv=3)
    search.fit(X[:1500], y[:1500])
    assert search.best_params_["hidden_layer_sizes"] in [(16,), (64,)]
    assert search.best_score_ > 0.7 and search.score(X_test, y_test) > 0.7


def test_its_accuracy_matches_mlp_classifier_on_the_same_data_and_budget(small_mnist):
    """The same network (784-64-10, ReLU, softmax) and budget (10 epochs of plain SGD, batch 32, rate 0.1)."""
    X, y, X_test, y_test = small_mnist
    ours = DigitClassifier((64,), learning_rate=0.1, batch_size=32, epochs=10, random_state=0).fit(X, y)
    theirs = MLPClassifier((64,), solver="sgd", learning_rate_init=0.1, batch_size=32, max_iter=10, momentum=0.0,
                           alpha=0.0, n_iter_no_change=10, tol=0.0, random_state=0)
    # One BLAS thread, as digitnet trains: more threads make MLPClassifier's small products 10 times slower
    # on a busy machine. It warns that 10 epochs did not converge.
    with threadpool_limits(1), pytest.warns(Warning, match="Maximum iterations"):
        theirs.fit(X, y)
    ours_accuracy, their_accuracy = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    print(f"accuracy on 2,000 MNIST test images: DigitClassifier {ours_accuracy:.4f}, MLPClassifier {their_accuracy:.4f}")
    assert ours_accuracy > 0.8 and ours_accuracy > their_accuracy - 0.02


def test_the_classifier_fits_and_predicts_without_scikit_learn():
    script = """
import sys
from importlib.abc import MetaPathFinder
class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "sklearn":
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Refuse())
import numpy as np
from digitnet import DigitClassifier
X = np.random.default_rng(0).random((40, 3)); y = (X[:, 0] > 0.5).astype(int)
print(DigitClassifier((8,), epochs=2, random_state=0).fit(X, y).predict(X).shape)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(40,)"
