"""digitnet predict: read every digit in photos and scans."""

import argparse
from pathlib import Path

from digitnet.cli.options import add_model_option

# What --annotate and --crops can write: the format is the one the file name's suffix names.
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
                   ".webp": "WEBP"}
PICTURE_SUFFIXES = ", ".join(PICTURE_FORMATS)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return value


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="read the digits in images (photos, scans, drawings)",
        description="Read every digit in each image: one or many, in one or several rows, dark ink on paper or "
                    "light on dark. Prints the text read and, per digit, its confidence and box. With several "
                    "images, --annotate OUT.png and --crops OUT.png write OUT-1.png, OUT-2.png, ... (one per "
                    "image, in the order given); every file written is named on stderr.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, BMP, TIFF, WebP, ...)")
    add_model_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    p.add_argument("--annotate", metavar="OUT.png",
                   help="save the image with a box and the digit drawn on each digit, in the format its suffix "
                        f"names ({PICTURE_SUFFIXES})")
    p.add_argument("--crops", metavar="OUT.png", help="save the 28x28 inputs the network saw, side by side "
                                                      "(same suffixes)")
    p.add_argument("--min-confidence", type=probability, metavar="P",
                   help='write digits read with confidence below P as "?" in the text (default: off)')
    return p


def run(args) -> int:
    import json
    import sys

    from digitnet.cli import error_line, printable
    from digitnet.errors import ImageError
    from digitnet.modelfile import load_model
    from digitnet.reading import annotate, crops_sheet, read_digits

    outputs = {option: output_paths(getattr(args, option), args.images, option)
               for option in ("annotate", "crops") if getattr(args, option)}
    refuse_overwriting_inputs(outputs, args.images)
    model = load_model(args.model)
    several = len(args.images) > 1
    failed = False
    for index, path in enumerate(args.images):
        try:
            reading = read_digits(path, model, min_confidence=args.min_confidence)
        except ImageError as e:
            print(error_line("digitnet predict", e), file=sys.stderr)
            failed = True
            continue
        if args.json:
            print(json.dumps(reading.to_dict(path)), flush=True)
        else:
            print(format_reading(printable(path) if several else None, reading), flush=True)
        for option, draw in (("annotate", annotate), ("crops", crops_sheet)):
            if option in outputs:
                picture = draw(path, reading) if option == "annotate" else draw(reading)
                _save(picture, outputs[option][index])
                print(f"wrote {printable(outputs[option][index])} (--{option} of {printable(path)})",
                      file=sys.stderr)
    return 2 if failed else 0


def output_paths(template: str, images: list[str], option: str) -> list[Path]:
    """Where --annotate/--crops OUT.EXT writes for each image: OUT.EXT for one image; OUT-1.EXT,
    OUT-2.EXT, ... (in the order the images were given) for several. An unknown suffix is refused."""
    from digitnet.errors import DigitnetError

    path = Path(template)
    if path.suffix.lower() not in PICTURE_FORMATS:
        raise DigitnetError(f"--{option} {template}: name a file ending in {PICTURE_SUFFIXES} "
                            "(the suffix says which format to write)")
    if len(images) == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, len(images) + 1)]


def refuse_overwriting_inputs(outputs: dict[str, list[Path]], images: list[str]) -> None:
    """Raise before anything is read when a file to write is one of the input images, or is written twice."""
    from digitnet.errors import DigitnetError

    inputs = {_identity(Path(image)): image for image in images}
    seen: dict[object, str] = {}
    for option, paths in outputs.items():
        for path in paths:
            where = _identity(path)
            if where in inputs:
                raise DigitnetError(f"--{option} would write {path} over the input image {inputs[where]}")
            if where in seen:
                raise DigitnetError(f"--{option} and --{seen[where]} would both write {path}")
            seen[where] = option


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


def _identity(path: Path):
    """What names one file: device and inode where it exists (so links count), else its absolute path."""
    try:
        status = path.stat()
    except OSError:
        return path.resolve()
    return status.st_dev, status.st_ino


def _save(picture, path: Path) -> None:
    """Write ``picture`` atomically (temporary file, then rename) in the format its suffix names."""
    from digitnet.atomic import replaced_atomically
    from digitnet.errors import ImageError

    try:
        with replaced_atomically(path) as tmp:
            picture.save(tmp, format=PICTURE_FORMATS[path.suffix.lower()])
    except OSError as e:
        raise ImageError(f"{path}: cannot write ({e.strerror or e})") from None
