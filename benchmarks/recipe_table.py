"""The README's recipe table from trained model files: test accuracy over seeds, time, calibration.

    python benchmarks/recipe_table.py seed=src/digitnet/models/seed.npz,runs/seed-1.npz best=runs/best-*.npz

Each argument is ``RECIPE=MODEL[,MODEL...]``; every model is measured on the MNIST test set with
``evaluate_model`` (accuracy, ECE raw and at the model's stored temperature), and its training time
is read from its metadata. Prints one Markdown row per recipe.
"""

import sys

import numpy as np

from digitnet.data import load_dataset, test_split
from digitnet.evaluation import evaluate_model
from digitnet.modelfile import load_model


def row(recipe: str, paths: list[str], test) -> str:
    models = [load_model(p) for p in paths]
    evaluations = [evaluate_model(m, test) for m in models]
    accuracy = np.array([e.accuracy for e in evaluations])
    minutes = np.array([m.metadata.get("training_seconds", np.nan) for m in models]) / 60
    raw = np.mean([e.calibration["ece"] for e in evaluations])
    scaled = np.mean([e.calibration["ece_scaled"] for e in evaluations])
    temperatures = ", ".join(f"{m.temperature:.2f}" for m in models)
    if len(models) > 1:
        accuracy_text = (f"{accuracy.mean():.4f} ± {accuracy.std(ddof=1):.4f} "
                         f"({accuracy.min():.4f}-{accuracy.max():.4f})")
        minutes_text = f"{minutes.mean():.1f} ({minutes.min():.1f}-{minutes.max():.1f})"
    else:
        accuracy_text, minutes_text = f"{accuracy[0]:.4f}", f"{minutes[0]:.1f}"
    return f"| {recipe} | {len(models)} | {accuracy_text} | {minutes_text} | {raw:.4f} | {scaled:.4f} (T = {temperatures}) |"


def main(arguments: list[str]) -> None:
    test = test_split(load_dataset())
    print("| recipe | seeds | test accuracy: mean ± std (min-max) | training minutes: mean (min-max) "
          "| test ECE, raw softmax | test ECE, temperature-scaled |")
    print("|---|---|---|---|---|---|")
    for argument in arguments:
        recipe, _, paths = argument.partition("=")
        print(row(recipe, paths.split(","), test))


if __name__ == "__main__":
    main(sys.argv[1:])
