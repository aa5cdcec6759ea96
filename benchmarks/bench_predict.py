"""How fast `digitnet predict` reads a photo, as a fresh process, against Python + NumPy startup.

    python benchmarks/bench_predict.py [--repeats 5]

Prints, each the median of the repeats: the reference (a fresh `python -c "import numpy"`), a fresh
`digitnet predict` on an ordinary photo (1600x1200 JPEG), the same on a 12-megapixel photo
(4000x3000 JPEG), reading the 12-megapixel photo inside a running process, and the import time
of the predict path; and checks that matplotlib, torch and scipy stay off that path.
Goals on the 2-core machine: ordinary photo < 0.6 s end to end, 12-megapixel read < 1 s.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitnet.data import load_dataset
from digitnet.reading.synthetic import make_page

HEAVY = ("matplotlib", "torch", "scipy")


def photo(size: tuple[int, int], digit_height: int, seed: int) -> Image.Image:
    """Blue digits on cream paper, centred on a page of ``size`` with a soft shadow and sensor noise."""
    dataset = load_dataset()
    page = make_page("blue_on_cream", np.random.default_rng(seed), dataset.test_images, dataset.test_labels,
                     digits=6, height=digit_height).image
    canvas = Image.new("RGB", size, (245, 238, 215))
    canvas.paste(page, ((size[0] - page.width) // 2, (size[1] - page.height) // 2))
    pixels = np.asarray(canvas, dtype=np.float32)
    xs = np.linspace(0.75, 1.0, size[0], dtype=np.float32)
    pixels = pixels * xs[None, :, None] + np.random.default_rng(seed).normal(0, 4, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def fresh(args: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as tmp:
        ordinary, large = Path(tmp) / "photo.jpg", Path(tmp) / "photo-12mp.jpg"
        photo((1600, 1200), 120, 1).save(ordinary, quality=90)
        photo((4000, 3000), 300, 2).save(large, quality=90)
        reference = fresh(["-c", "import numpy"], repeats)
        predict = fresh(["-m", "digitnet", "predict", str(ordinary)], repeats)
        predict_large = fresh(["-m", "digitnet", "predict", str(large)], repeats)
        imports = fresh(["-c", "import digitnet.cli, digitnet.reading, digitnet.modelfile"], repeats)
        in_process = subprocess.run(
            [sys.executable, "-c",
             "import sys, time, statistics\n"
             "from digitnet.modelfile import load_model\nfrom digitnet.reading import read_digits\n"
             "from digitnet.cli import main\nmodel = load_model()\ntimes = []\n"
             f"for _ in range({repeats}):\n"
             f"    t = time.perf_counter(); read_digits({str(large)!r}, model); times.append(time.perf_counter() - t)\n"
             f"main(['predict', {str(ordinary)!r}])\n"
             f"print(statistics.median(times), ','.join(m for m in {HEAVY!r} if m in sys.modules))"],
            check=True, capture_output=True, text=True).stdout.splitlines()[-1].split(" ")
    read_large, heavy = float(in_process[0]), in_process[1] if len(in_process) > 1 else ""
    print(f"reference: fresh python -c 'import numpy'         {reference:6.3f} s")
    print(f"import digitnet.cli + reading + modelfile (fresh)  {imports:6.3f} s  {imports / reference:5.2f}x reference")
    print(f"digitnet predict, 1600x1200 photo (fresh process)  {predict:6.3f} s  {predict / reference:5.2f}x reference"
          f"  (goal < 0.6 s)")
    print(f"digitnet predict, 4000x3000 photo (fresh process)  {predict_large:6.3f} s  "
          f"{predict_large / reference:5.2f}x reference")
    print(f"read_digits on the 12-megapixel photo (in process) {read_large:6.3f} s  "
          f"{read_large / reference:5.2f}x reference  (goal < 1 s)")
    print(f"heavy modules loaded by predict: {heavy or 'none'} (of {', '.join(HEAVY)})")


if __name__ == "__main__":
    main()
