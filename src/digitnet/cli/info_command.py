"""digitnet info: what a model file says about itself."""

import json

from digitnet.cli.options import add_model_option


def add_parser(subparsers):
    p = subparsers.add_parser("info", help="show what a model file says about itself")
    add_model_option(p)
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    return p


def run(args) -> int:
    from digitnet.modelfile import load_model, resolve_model_path

    path = resolve_model_path(args.model)
    model = load_model(path)
    if args.json:
        print(json.dumps({"path": str(path), **model.metadata}))
        return 0
    m = model.metadata
    print(f"model file     {path}")
    network = model.network
    print(f"network        {'-'.join(map(str, network.layer_sizes))} (ReLU hidden layers, softmax output), "
          f"{network.dtype}, {sum(p.size for p in network.parameters):,} parameters")
    for section in ("recipe", "data", "metrics", "calibration"):
        for key, value in (m.get(section) or {}).items():
            print(f"{section + '.' + key:<30} {shown(value)}")
    for key in ("training_seconds", "epochs_run", "best_epoch", "digitnet_version", "created"):
        if key in m:
            print(f"{key:<14} {shown(m[key])}")
    return 0


def shown(value) -> str:
    """A metadata value as one line of plain text: a string with control characters (a newline,
    a terminal escape) is shown quoted and escaped, anything else as JSON would write it."""
    if isinstance(value, str):
        return value if value.isprintable() else json.dumps(value)
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)
