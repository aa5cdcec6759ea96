"""digitnet export: a model as an ONNX graph that any ONNX runtime runs without digitnet."""

EXTRA = "onnx"  # beyond the core install: pip install 'digitnet[onnx]'


def add_parser(subparsers):
    p = subparsers.add_parser("export", help="write a model as an ONNX graph (pixels in, probabilities out)")
    p.add_argument("model", metavar="MODEL", help="model file (.npz), or a shipped model: best or seed")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="where to write the ONNX graph")
    return p


def run(args) -> int:
    from digitnet.atomic import write_bytes_atomically
    from digitnet.errors import ModelFileError
    from digitnet.modelfile import load_model
    from digitnet.onnx_export import INPUT_NAME, OUTPUT_NAME, to_onnx

    model = load_model(args.model)
    graph = to_onnx(model)
    try:
        write_bytes_atomically(args.onnx, graph.SerializeToString())
    except OSError as e:
        raise ModelFileError(f"{args.onnx}: cannot write ({e.strerror or e})") from None
    sizes = model.network.layer_sizes
    networks = " + ".join(m.network.architecture for m in [model, *model.members])
    print(f"{args.onnx}: {networks} network{'s' if model.members else ''}; input {INPUT_NAME!r} (n, 28, 28) uint8, "
          f"output {OUTPUT_NAME!r} (n, {sizes[-1]}) float32")
    return 0
