"""Make the sample images in examples/ and the annotated figure for README.

    python scripts/make_examples.py

MNIST *test* digits and handwriting-font digits on paper, each page under one real-world condition
(see digitnet.reading.synthetic), plus a single thin-pen "3" on white like the original's sample.
"""

import argparse
from pathlib import Path

import numpy as np

from digitnet.data import load_dataset
from digitnet.modelfile import load_model
from digitnet.reading import annotate, read_digits
from digitnet.reading.synthetic import make_page

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIGURE = ROOT / "docs" / "figures" / "reading-annotated.png"
SEED = 2024
PAGES = {  # file name -> (condition, digits per row)
    "blue-ink-on-cream.jpg": ("blue_on_cream", 5),
    "notebook-ruled.png": ("ruled", 4),
    "chalkboard.png": ("chalkboard", 4),
    "two-rows.png": ("rows", 4),
    "shadow-noise-photo.jpg": ("shadow", 4),
    "handwriting-font.png": ("fonts", 5),
    "fat-marker.png": ("fat_marker", 3),
    "touching.png": ("touching", 3),
}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    dataset = load_dataset()
    EXAMPLES.mkdir(exist_ok=True)
    rng = np.random.default_rng(SEED)
    threes = dataset.test_images[dataset.test_labels == 3]
    three = make_page("thin_pen", rng, threes, np.full(len(threes), 3), digits=1, height=220)
    _save(three.image, EXAMPLES / "thin-pen-three.png")
    print(f"thin-pen-three.png: {three.text}")
    for name, (condition, digits) in PAGES.items():
        page = make_page(condition, rng, dataset.test_images, dataset.test_labels, digits=digits)
        _save(page.image, EXAMPLES / name)
        print(f"{name}: {page.text.replace(chr(10), ' / ')}")
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    source = EXAMPLES / "blue-ink-on-cream.jpg"
    annotate(source, read_digits(source, load_model())).save(FIGURE, optimize=True)
    print(f"wrote {len(PAGES) + 1} examples to {EXAMPLES} and {FIGURE}")


def _save(image, path: Path) -> None:
    if path.suffix == ".jpg":
        image.convert("RGB").save(path, quality=85)
    else:
        image.save(path, optimize=True)


if __name__ == "__main__":
    main()
