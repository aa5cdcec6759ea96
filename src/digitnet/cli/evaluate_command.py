"""digitnet evaluate: accuracy, per-class scores and confusion matrix on the MNIST test set.

For a reader model (10 digits + "not a digit") the answer is its most likely digit: the "not a
digit" output is left out, since every MNIST test image is a digit."""

import json

from digitnet.cli.options import add_data_option, add_model_option


def add_parser(subparsers):
    p = subparsers.add_parser("evaluate", help="measure a model on the MNIST test set")
    add_model_option(p)
    add_data_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p


def run(args) -> int:
    from digitnet.data import load_dataset
    from digitnet.evaluation import evaluate_model, format_evaluation
    from digitnet.modelfile import load_model
    from digitnet.reader_model import test_split_for
    from digitnet.training import available_cores

    model = load_model(args.model)
    dataset = load_dataset(args.data_dir)
    evaluation = evaluate_model(model, test_split_for(model, dataset, available_cores()))
    if args.json:
        print(json.dumps({"model": str(args.model or "shipped"), "data": dataset.source, **evaluation.to_dict()}))
    else:
        prepared = " (each prepared as the reader prepares a crop)" if "input_preparation" in model.metadata else ""
        print(f"test set: {len(dataset.test_labels)} images from {dataset.source}{prepared}")
        print(format_evaluation(evaluation))
    return 0
