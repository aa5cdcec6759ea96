"""How well a model reads the MNIST test set: accuracy, per-class scores, confusion matrix."""

from dataclasses import dataclass

import numpy as np

from digitnet.data import Split
from digitnet.metrics import confusion_matrix, per_class_scores
from digitnet.modelfile import Model


@dataclass
class Evaluation:
    """accuracy in [0, 1]; confusion (10, 10) counts, row = true digit; per_class: name -> (10,)."""

    accuracy: float
    confusion: np.ndarray
    per_class: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "confusion_matrix": self.confusion.tolist(),
                "per_class": {k: v.tolist() for k, v in self.per_class.items()}}


def evaluate_model(model: Model, split: Split) -> Evaluation:
    predictions = model.network.predict(split.images)
    confusion = confusion_matrix(split.labels, predictions)
    return Evaluation(float((predictions == split.labels).mean()), confusion, per_class_scores(confusion))


def format_evaluation(evaluation: Evaluation) -> str:
    """A readable report: accuracy, a per-digit precision/recall/F1 table and the confusion matrix."""
    s = evaluation.per_class
    lines = [f"accuracy {evaluation.accuracy:.4f} ({int(np.trace(evaluation.confusion))}/"
             f"{int(evaluation.confusion.sum())})", "",
             "digit  precision  recall  f1      support"]
    for d in range(len(evaluation.confusion)):
        lines.append(f"{d:>5}  {s['precision'][d]:9.4f}  {s['recall'][d]:6.4f}  {s['f1'][d]:6.4f}  {int(s['support'][d]):7d}")
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
              "      " + "".join(f"{d:>6}" for d in range(len(evaluation.confusion)))]
    for d, row in enumerate(evaluation.confusion):
        lines.append(f"{d:>6}" + "".join(f"{int(c):>6}" for c in row))
    return "\n".join(lines)
