"""digitnet evaluate: accuracy, per-class scores and confusion matrix on the MNIST test set.

For a reader model (10 digits + "not a digit") the answer is its most likely digit: the "not a
digit" output is left out, since every MNIST test image is a digit."""

import json

from digitnet.cli.options import add_data_option, add_model_option


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="measure a model on the MNIST test set",
        description="Measure a model on the 10,000 MNIST test images (or the test set of --data-dir): accuracy, "
                    "precision, recall and F1 per digit, the confusion matrix and the calibration error (ECE). "
                    "Warns when the model was trained on another dataset.")
    add_model_option(p)
    add_data_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p


def run(args) -> int:
    import os
    import sys

    from digitnet.cli import warning_line
    from digitnet.data import load_dataset, load_test_split, test_split
    from digitnet.evaluation import evaluate_model, format_evaluation, model_input
    from digitnet.modelfile import load_model
    from digitnet.reading.normalise import available_cores

    model = load_model(args.model)
    if args.data_dir or os.environ.get("DIGITNET_DATA"):  # named data: say if the model learnt other data
        dataset = load_dataset(args.data_dir)
        mismatch = other_dataset_warning(model.metadata, dataset)
        if mismatch:
            print(warning_line("digitnet evaluate", mismatch), file=sys.stderr)
        test, source = test_split(dataset), dataset.source
    else:
        test, source = load_test_split()
    evaluation = evaluate_model(model, model_input(model, test, available_cores()))
    if args.json:
        print(json.dumps({"model": str(args.model or "shipped"), "data": source, **evaluation.to_dict()}))
    else:
        prepared = " (each prepared as the reader prepares a crop)" if "input_preparation" in model.metadata else ""
        print(f"test set: {len(test)} images from {source}{prepared}")
        print(format_evaluation(evaluation))
    return 0


def other_dataset_warning(metadata: dict, dataset) -> str | None:
    """A sentence when the model's metadata names another dataset (by checksum) than ``dataset``, else None."""
    trained_on = metadata.get("data")
    if not isinstance(trained_on, dict) or "sha256" not in trained_on or trained_on["sha256"] == dataset.sha256:
        return None
    return (f"the model was trained on another dataset ({trained_on.get('source', 'unknown source')}, sha256 "
            f"{str(trained_on['sha256'])[:12]}...) than this one ({dataset.source}, sha256 {dataset.sha256[:12]}...): "
            "its scores here measure it on data it did not learn")
