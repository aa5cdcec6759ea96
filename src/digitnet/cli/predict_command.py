"""digitnet predict: read every digit in photos and scans."""

import argparse

from digitnet.cli.options import add_model_option


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return value


def add_parser(subparsers):
    p = subparsers.add_parser("predict", help="read the digits in images (photos, scans, drawings)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, BMP, TIFF, WebP, ...)")
    add_model_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    p.add_argument("--annotate", metavar="OUT.png", help="save the image with a box and the digit drawn on each digit")
    p.add_argument("--crops", metavar="OUT.png", help="save the 28x28 inputs the network saw, side by side")
    p.add_argument("--min-confidence", type=probability, metavar="P",
                   help='write digits read with confidence below P as "?" in the text (default: off)')
    return p


def run(args) -> int:
    import json
    import sys

    from digitnet.errors import ImageError
    from digitnet.modelfile import load_model
    from digitnet.reading import annotate, crops_sheet, read_digits

    model = load_model(args.model)
    several = len(args.images) > 1
    failed = False
    for index, path in enumerate(args.images):
        try:
            reading = read_digits(path, model, min_confidence=args.min_confidence)
        except ImageError as e:
            print(f"digitnet: error: {e}", file=sys.stderr)
            failed = True
            continue
        if args.json:
            print(json.dumps(reading.to_dict(path)), flush=True)
        else:
            print(format_reading(path if several else None, reading), flush=True)
        if args.annotate:
            _save(annotate(path, reading), _output_path(args.annotate, index, several))
        if args.crops:
            _save(crops_sheet(reading), _output_path(args.crops, index, several))
    return 2 if failed else 0


def format_reading(name, reading) -> str:
    """Plain output: the text read, then one line per digit with its confidence and box."""
    header = f"{name}: " if name else ""
    if not reading.digits:
        return f"{header}no digits found"
    text = reading.text.replace("\n", " / ")
    lines = [f"{header}{text}"]
    for d in reading.digits:
        x0, y0, x1, y1 = d.box
        lines.append(f"  {d.digit}  {d.confidence:6.1%}  box ({x0}, {y0}, {x1}, {y1})  row {d.row}")
    return "\n".join(lines)


def _output_path(template: str, index: int, several: bool) -> str:
    """OUT.png for one image; OUT-1.png, OUT-2.png, ... when several images are read."""
    if not several:
        return template
    from pathlib import Path

    path = Path(template)
    return str(path.with_name(f"{path.stem}-{index + 1}{path.suffix or '.png'}"))


def _save(picture, path: str) -> None:
    """Write a PNG atomically (temporary file, then rename)."""
    from digitnet.atomic import replaced_atomically
    from digitnet.errors import ImageError

    try:
        with replaced_atomically(path) as tmp:
            picture.save(tmp, format="PNG")
    except OSError as e:
        raise ImageError(f"{path}: cannot write ({e.strerror or e})") from None
