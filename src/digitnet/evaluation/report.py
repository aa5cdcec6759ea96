"""How well a model reads the MNIST test set: accuracy, per-class scores, confusion matrix, calibration."""

from dataclasses import dataclass

import numpy as np

from digitnet.evaluation.calibration import calibration_errors
from digitnet.data import Split
from digitnet.evaluation.metrics import confusion_matrix, per_class_scores
from digitnet.modelfile import Model


@dataclass
class Evaluation:
    """accuracy in [0, 1]; confusion (10, 10) counts, row = true digit; per_class: name -> (10,);
    calibration: expected calibration error of the raw softmax (``ece``) and of the model's own,
    temperature-scaled probabilities (``ece_scaled``), with that ``temperature``."""

    accuracy: float
    confusion: np.ndarray
    per_class: dict[str, np.ndarray]
    calibration: dict

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "confusion_matrix": self.confusion.tolist(),
                "per_class": {k: v.tolist() for k, v in self.per_class.items()}, "calibration": self.calibration}


def model_input(model: Model, split: Split, workers: int = 1) -> Split:
    """MNIST images (n, 784) in [0, 1] as ``model`` expects them: as they are, or, for a model trained
    on the reader's crops (``input_preparation`` in its metadata), each prepared as the reader
    prepares a crop (``reading.normalise.normalised``; ``workers`` processes share that work)."""
    if "input_preparation" not in model.metadata:
        return split
    from digitnet.reading.normalise import normalised

    crops = split.images.reshape(len(split), 28, 28).astype(np.float32, copy=False)
    return Split(normalised(list(crops), model.deslants_input, workers), split.labels)


def evaluate_model(model: Model, split: Split) -> Evaluation:
    logits = model.digit_logits(split.images)
    predictions = logits.argmax(axis=1)
    confusion = confusion_matrix(split.labels, predictions)
    calibration = {"temperature": model.temperature, **calibration_errors(logits, split.labels, model.temperature)}
    return Evaluation(float((predictions == split.labels).mean()), confusion, per_class_scores(confusion), calibration)


def format_evaluation(evaluation: Evaluation) -> str:
    """A readable report: accuracy, a per-digit precision/recall/F1 table and the confusion matrix."""
    s = evaluation.per_class
    c = evaluation.calibration
    lines = [f"accuracy {evaluation.accuracy:.4f} ({int(np.trace(evaluation.confusion))}/"
             f"{int(evaluation.confusion.sum())})",
             f"expected calibration error {c['ece']:.4f} raw softmax, {c['ece_scaled']:.4f} at the model's "
             f"temperature {c['temperature']:.3f}", "",
             "digit  precision  recall  f1      support"]
    for d in range(len(evaluation.confusion)):
        lines.append(f"{d:>5}  {s['precision'][d]:9.4f}  {s['recall'][d]:6.4f}  {s['f1'][d]:6.4f}  {int(s['support'][d]):7d}")
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
              "      " + "".join(f"{d:>6}" for d in range(len(evaluation.confusion)))]
    for d, row in enumerate(evaluation.confusion):
        lines.append(f"{d:>6}" + "".join(f"{int(c):>6}" for c in row))
    return "\n".join(lines)
