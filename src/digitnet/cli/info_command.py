"""digitnet info: what a model file says about itself."""

import json

from digitnet.cli.options import add_model_option
from digitnet.nn.conv import KERNEL, POOL

SECTIONS = ("recipe", "data", "metrics", "calibration")  # metadata tables, shown as section.key rows
ACTIVATION_NAMES = {"relu": "ReLU", "leaky_relu": "leaky ReLU"}  # as people write them
FIELDS = ("training_seconds", "epochs_run", "best_epoch", "digitnet_version", "created")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "info", help="show what a model file says about itself",
        description="Show what a model file records about itself: its network, the recipe it was trained with, "
                    "the data (source and checksum), its measured accuracy and calibration, and when and how long "
                    "it trained.")
    add_model_option(p)
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    return p


def run(args) -> int:
    from digitnet.cli import printable
    from digitnet.modelfile import load_model, resolve_model_path

    path = resolve_model_path(args.model)
    model = load_model(path)
    if args.json:
        print(json.dumps({"path": str(path), **model.metadata}))
        return 0
    m = model.metadata
    rows = [("model file", str(path)), ("network", network_line(model.network))]
    rows += [(f"member {k} (read with it)", network_line(member.network)) for k, member in enumerate(model.members, 1)]
    for section in SECTIONS:
        table = m.get(section)
        rows += [(f"{section}.{key}", value) for key, value in (table.items() if isinstance(table, dict) else ())]
    rows += [(key, m[key]) for key in FIELDS if key in m]
    print(format_rows([(key, shown(value)) for key, value in rows], printable))
    return 0


def network_line(network) -> str:
    """One network in words: architecture, layers, dtype and parameter count."""
    convolutions = f"{KERNEL}x{KERNEL} convolutions with {POOL}x{POOL} max-pooling, " if network.convolutions else ""
    activation = ACTIVATION_NAMES.get(network.activation, network.activation)
    return (f"{network.architecture} ({convolutions}{activation} hidden layers, softmax output), "
            f"{network.dtype}, {sum(p.size for p in network.parameters):,} parameters")


def format_rows(rows: list[tuple[str, object]], clean=str) -> str:
    """Two aligned columns: every key padded to the longest one, so no long key breaks them."""
    width = max(len(clean(key)) for key, _ in rows)
    return "\n".join(f"{clean(key):<{width}}  {clean(value)}" for key, value in rows)


def shown(value) -> str:
    """A metadata value as one line of plain text: a string with control characters (a newline,
    a terminal escape) is shown quoted and escaped, anything else as JSON would write it."""
    if isinstance(value, str):
        return value if value.isprintable() else json.dumps(value)
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)
