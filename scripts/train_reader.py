"""Train the reader model (10 digits + "not a digit", deslanted input) and save it with its metadata.

    python scripts/train_reader.py [--out src/digitnet/models/reader.npz] [--quiet]
                                   [--dense-only | --convolutional-only] [--page-crops]

See ``digitnet.reader_model`` for the data and the recipe: the shipped reader is a dense network
and a convolutional one trained on the same data, reading together. Prints the seconds spent making
the data and training, and the model's accuracy on the MNIST test digits prepared as the reader
prepares crops.
"""

import argparse
import sys
from pathlib import Path

from digitnet.cli.progress import ProgressReporter
from digitnet.data import load_dataset
from digitnet.reader_model import (CONVOLUTIONAL_READER_CONFIG, PAGE_CROPS_PER_DIGIT, READER_CONFIG, ReaderRecipe,
                                   make_reader_model)
from digitnet.reading.reader_data import ReaderDataMix

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "digitnet" / "models" / "reader.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--quiet", action="store_true", help="no progress bar (epoch lines still go to stderr)")
    alone = parser.add_mutually_exclusive_group()
    alone.add_argument("--dense-only", action="store_true",
                       help="the 784-512-256-11 network alone (the reader before the ensemble)")
    alone.add_argument("--convolutional-only", action="store_true",
                       help="the network with two convolutions in front alone (it reads pages worse than the pair)")
    parser.add_argument("--page-crops", action="store_true",
                        help="also train on the candidates the reader cuts from pages "
                             "(not shipped: see docs/reading.md)")
    args = parser.parse_args()
    mix = ReaderDataMix(pages=PAGE_CROPS_PER_DIGIT) if args.page_crops else ReaderDataMix()
    recipe = ReaderRecipe(mix=mix)
    if args.dense_only or args.convolutional_only:
        recipe = ReaderRecipe(CONVOLUTIONAL_READER_CONFIG if args.convolutional_only else READER_CONFIG, (), mix)
    model = make_reader_model(load_dataset(), args.out, recipe,
                              reporter_for=lambda config: ProgressReporter(config.epochs, show_bar=not args.quiet))
    m = model.metadata
    print(f"data {m['data_seconds']:.0f} s ({m['data']['train_examples']} examples), training "
          f"{m['training_seconds']:.0f} s; MNIST test digits {m['metrics']['test_accuracy']:.4f}, called "
          f"'not a digit' {m['metrics']['test_not_a_digit']:.4f}; saved to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
