"""How good a model is: ``metrics`` (accuracy, cross-entropy, confusion), ``calibration`` (ECE,
temperature) and ``report`` (a model's evaluation on a split, as a table)."""

from digitnet.evaluation.report import Evaluation, evaluate_model, format_evaluation, model_input

__all__ = ["Evaluation", "evaluate_model", "format_evaluation", "model_input"]
