"""The walkthroughs in docs/learn: each opens as a notebook, runs top to bottom, and its stated results hold.

Each walkthrough asserts its own key results (a gradient check's relative error, the accuracy after
one epoch, the text read from a photo...), so a walkthrough whose claim stops being true fails here.
Each runs as the script it is stored as: its code cells in order, as Jupyter runs them, with
Jupyter's magics (``# %matplotlib inline``) left as the comments jupytext keeps them as.
"""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGHS = sorted((ROOT / "docs" / "learn").glob("*.py"))
SECONDS_EACH = 120  # each runs in under 15 s on a shared 2-core machine


def test_the_five_walkthroughs_are_there_in_order():
    assert [path.stem for path in WALKTHROUGHS] == [
        "01_one_layer_by_hand", "02_softmax_and_cross_entropy", "03_training",
        "04_what_the_network_learned", "05_reading_a_photo"]


@pytest.mark.parametrize("path", WALKTHROUGHS, ids=lambda path: path.stem)
def test_a_walkthrough_opens_as_a_notebook_with_maths_beside_the_code(path):
    notebook = jupytext.read(path)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert markdown[0].startswith("# ")  # a title
    assert len(markdown) >= 4 and len(code) >= 4
    assert any("$" in text for text in markdown)  # LaTeX maths


@pytest.mark.slow
@pytest.mark.parametrize("path", WALKTHROUGHS, ids=lambda path: path.stem)
def test_a_walkthrough_runs_and_its_results_hold(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=SECONDS_EACH)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr[-3000:]}"
    assert "Warning" not in result.stderr, result.stderr[-3000:]
