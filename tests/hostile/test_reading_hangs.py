"""Pages that took the reader minutes (issue 16, items 1 and 2): each must be read or refused in
one line within the time and memory budget (the fixes: bounded stroke filters in
reading/normalise.py, near-linear grouping and bounded candidates in reading/segment.py). The three run at once, each in its own ``digitnet predict``, so waiting for
them costs one budget, not three."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.hostile.running import SECONDS_BUDGET, run_cli


def solid_square_page() -> Image.Image:
    """A 60x60 black square on a 1200x600 white page (780 bytes as PNG)."""
    page = Image.new("L", (1200, 600), 255)
    ImageDraw.Draw(page).rectangle((570, 270, 629, 329), fill=0)
    return page


def dot_grid_page() -> Image.Image:
    """A grid of 3,600 small dots on 1200x1200."""
    page = Image.new("L", (1200, 1200), 255)
    draw = ImageDraw.Draw(page)
    for y in range(10, 1200, 20):
        for x in range(10, 1200, 20):
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=0)
    return page


def short_strokes_page() -> Image.Image:
    """3,750 short strokes, at random places on 1500x1500."""
    rng = np.random.default_rng(2)
    page = Image.new("L", (1500, 1500), 255)
    draw = ImageDraw.Draw(page)
    for x, y in rng.integers(10, 1490, size=(3750, 2)):
        draw.line((int(x), int(y), int(x) + 6, int(y) + 9), fill=0, width=3)
    return page


PAGES = {"solid_square": solid_square_page, "dot_grid": dot_grid_page, "short_strokes": short_strokes_page}


@pytest.fixture(scope="module")
def endings(tmp_path_factory):
    """How ``digitnet predict --json`` ended on each page, all run at once."""
    from concurrent.futures import ThreadPoolExecutor

    directory = tmp_path_factory.mktemp("hangs")
    paths = {}
    for name, make in PAGES.items():
        paths[name] = directory / f"{name}.png"
        make().save(paths[name])
    with ThreadPoolExecutor(len(PAGES)) as pool:
        runs = {name: pool.submit(run_cli, "predict", "--json", str(path), timeout=SECONDS_BUDGET + 1)
                for name, path in paths.items()}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("page", PAGES)
def test_a_page_that_hung_the_reader_is_read_or_refused_in_budget(endings, page):
    ended = endings[page]
    if ended.returncode == 0:
        assert len(ended.stdout) < 2**20  # a reply, not 25 MiB of "digits"
        ended.assert_in_budget()
    else:
        ended.assert_clean_error(2)
