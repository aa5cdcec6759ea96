"""``DigitClassifier``: digitnet's hand-written network and trainer behind scikit-learn's estimator API.

It follows scikit-learn's conventions without importing scikit-learn: hyper-parameters are stored
as given by ``__init__`` and checked only by ``fit``; what is learned lives in attributes with a
trailing underscore (``classes_``, ``n_features_in_``, ``network_``, ``n_iter_``). Any number of
features and classes works; labels may be any sortable values (ints, strings...)::

    from digitnet import DigitClassifier
    clf = DigitClassifier(hidden_layer_sizes=(64,), epochs=10, random_state=0).fit(X, y)
    clf.predict(X[:5]), clf.predict_proba(X[:5])   # (5,) labels, (5, n_classes) probabilities
"""

import inspect
from dataclasses import replace
from numbers import Integral

import numpy as np

from digitnet.data import Split
from digitnet.nn.losses import softmax
from digitnet.training import TrainingConfig, TrainingRun, train

SEED_BOUND = 2**32  # seeds drawn from a random_state are below this


class NotFittedError(ValueError, AttributeError):
    """Raised when a classifier is used before ``fit`` (a ValueError and an AttributeError, as scikit-learn's)."""


class DigitClassifier:
    """A multi-layer perceptron (ReLU hidden layers, softmax output) trained by mini-batch SGD.

    hidden_layer_sizes: widths of the hidden layers; learning_rate, batch_size, epochs (full passes
    over the data per ``fit``), momentum, nesterov, weight_decay: as in ``training.TrainingConfig``;
    dtype: "float32" or "float64"; random_state: None (a new seed each fit), an int, or a NumPy
    ``Generator``/``RandomState`` from which a seed is drawn. Inputs X: (n_samples, n_features)
    numbers, best scaled to about [0, 1] or standardised (e.g. a scaler before it in a Pipeline).
    """

    def __init__(self, hidden_layer_sizes=(128, 64), learning_rate=0.1, batch_size=32, epochs=20, momentum=0.0,
                 nesterov=False, weight_decay=0.0, dtype="float32", random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.dtype = dtype
        self.random_state = random_state

    # -- scikit-learn's parameter protocol -------------------------------------------------------

    @classmethod
    def _parameter_names(cls) -> list[str]:
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The hyper-parameters, as given (``deep`` is accepted for scikit-learn; nothing is nested)."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params) -> "DigitClassifier":
        """Set hyper-parameters by name; they take effect at the next ``fit``."""
        valid = self._parameter_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {n: p.default for n, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{name}={value!r}" for name, value in self.get_params().items() if value != defaults[name]]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """scikit-learn's description of this estimator. Only scikit-learn calls it (its checks, Pipeline,
        GridSearchCV...), and the answer must be its own Tags object, so scikit-learn is imported here
        and nowhere else: digitnet itself never needs it."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(multi_class=True, multi_label=False),
                    input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False))

    # -- learning --------------------------------------------------------------------------------

    def fit(self, X, y) -> "DigitClassifier":
        """Train a new network for ``epochs`` passes over X (n_samples, n_features) with labels y (n_samples,)."""
        X, y = self._checked_training_data(X, y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        self.n_features_in_ = X.shape[1]
        self._start()
        return self._train(X, indices.astype(np.int64), self.training_run_.config.epochs)

    def partial_fit(self, X, y, classes=None) -> "DigitClassifier":
        """One more pass of SGD over (X, y); the first call needs ``classes``, every label there may be."""
        X, y = self._checked_training_data(X, y)
        if not hasattr(self, "training_run_"):
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes=, every label the data may hold")
            self.classes_ = np.unique(np.asarray(classes))
            self.n_features_in_ = X.shape[1]
            self._start()
        else:
            self._check_feature_count(X)
        positions = np.searchsorted(self.classes_, y)
        positions = np.minimum(positions, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[positions], y):
            raise ValueError(f"y holds labels not in classes_ {self.classes_.tolist()}")
        return self._train(X, positions.astype(np.int64), self.training_run_.position.epoch + 1)

    def _start(self) -> None:
        """A new training run for the current classes_ and n_features_in_: initial weights from the seed."""
        sizes = (self.n_features_in_, *[int(n) for n in self._hidden_sizes()], len(self.classes_))
        config = TrainingConfig(layer_sizes=sizes, learning_rate=self.learning_rate, batch_size=self.batch_size,
                                epochs=self._epochs(), seed=self._seed(), dtype=self.dtype, momentum=self.momentum,
                                nesterov=self.nesterov, weight_decay=self.weight_decay)
        self.training_run_ = TrainingRun.start(config)

    def _train(self, X: np.ndarray, labels: np.ndarray, until_epoch: int) -> "DigitClassifier":
        run = self.training_run_
        # As MLPClassifier does, a batch is never larger than the data at hand (partial_fit may get a few rows).
        run.config = replace(run.config, epochs=until_epoch, batch_size=min(self.batch_size, len(X)))
        train(run, Split(X.astype(run.config.dtype, copy=False), labels))
        self.network_ = run.network
        self.n_iter_ = run.position.epoch
        return self

    def _hidden_sizes(self) -> tuple:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(n, Integral) and n >= 1 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        return sizes

    def _epochs(self) -> int:
        if not (isinstance(self.epochs, Integral) and self.epochs >= 1):
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        return int(self.epochs)

    def _seed(self) -> int:
        state = self.random_state
        if state is None:
            return int(np.random.default_rng().integers(SEED_BOUND))
        if isinstance(state, Integral):
            return int(state)
        if isinstance(state, np.random.Generator):
            return int(state.integers(SEED_BOUND))
        if isinstance(state, np.random.RandomState):
            return int(state.randint(SEED_BOUND, dtype=np.int64))
        raise ValueError(f"random_state must be None, an int or a NumPy Generator/RandomState, got {state!r}")

    # -- using what was learned --------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """(n_samples, n_features) -> (n_samples, n_classes) probabilities, columns in the order of ``classes_``."""
        return softmax(self.network_.logits(self._checked_input(X)))

    def predict(self, X) -> np.ndarray:
        """(n_samples, n_features) -> (n_samples,) the most probable label of each row (values of ``classes_``)."""
        best = self.network_.logits(self._checked_input(X)).argmax(axis=1)
        return self.classes_[best]

    def score(self, X, y) -> float:
        """Accuracy: the fraction of rows of X whose predicted label equals y."""
        return float(np.mean(self.predict(X) == _as_labels(y)))

    # -- input checks (scikit-learn's check_array, in the few lines this estimator needs) --------------

    def _checked_training_data(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X, y = _as_matrix(X), _as_labels(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        return X, y

    def _checked_input(self, X) -> np.ndarray:
        if not hasattr(self, "network_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")
        X = _as_matrix(X)
        self._check_feature_count(X)
        return X.astype(self.network_.dtype, copy=False)

    def _check_feature_count(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")


def _as_matrix(X) -> np.ndarray:
    """X as a finite (n_samples, n_features) float array, n_samples and n_features >= 1; else ValueError."""
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError("sparse input is not supported: pass a dense array (X.toarray())")
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported")
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array (n_samples, n_features), got {X.ndim}D array instead. Reshape your "
                         "data with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)  # a TypeError or ValueError names what is not a number
    for axis, what in enumerate(("sample", "feature")):
        if X.shape[axis] < 1:
            raise ValueError(f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required.")
    if not np.isfinite(X).all():
        raise ValueError("input X contains NaN or infinity")
    return X


def _as_labels(y) -> np.ndarray:
    """y as a (n_samples,) array of class labels; ValueError for NaN or continuous (regression) targets."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array (n_samples,), got an array of shape {y.shape} instead")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError("input y contains NaN or infinity")
        if not np.array_equal(y, np.round(y)):
            raise ValueError("Unknown label type: continuous. y holds fractional values: a classifier needs "
                             "class labels")
    return y
