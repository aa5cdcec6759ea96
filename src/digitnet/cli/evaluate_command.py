"""digitnet evaluate: accuracy, per-class scores and confusion matrix on the MNIST test set."""

import json

from digitnet.cli.options import add_data_option, add_model_option


def add_parser(subparsers):
    p = subparsers.add_parser("evaluate", help="measure a model on the MNIST test set")
    add_model_option(p)
    add_data_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p


def run(args) -> int:
    from digitnet.data import load_test_split
    from digitnet.evaluation import evaluate_model, format_evaluation
    from digitnet.modelfile import load_model

    model = load_model(args.model)
    test, source = load_test_split(args.data_dir)
    evaluation = evaluate_model(model, test)
    if args.json:
        print(json.dumps({"model": str(args.model or "shipped"), "data": source, **evaluation.to_dict()}))
    else:
        print(f"test set: {len(test)} images from {source}")
        print(format_evaluation(evaluation))
    return 0
