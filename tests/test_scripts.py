"""The project's scripts still import and parse their flags against the current package; the reading
evaluation scores what it is given."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitnet.reading.synthetic import Page

SCRIPTS_FOLDER = Path(__file__).resolve().parent.parent / "scripts"
SCRIPTS = sorted(SCRIPTS_FOLDER.glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_script_answers_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_the_reading_evaluation_scores_pages_and_their_digits_read_alone():
    spec = importlib.util.spec_from_file_location("evaluate_reading", SCRIPTS_FOLDER / "evaluate_reading.py")
    evaluate_reading = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate_reading)
    box = (0, 0, 10, 10)
    pages = [Page(None, "12", [box, (20, 0, 30, 10)], "clean", [0, 1]),
             Page(None, "3", [box], "clean", [2])]
    readings = [{"text": "12", "seconds": 0.1, "digits": [[1, list(box)], [2, [20, 0, 30, 10]]]},
                {"text": "8", "seconds": 0.3, "digits": [[8, list(box)]]}]
    figures = evaluate_reading.score(pages, readings, right_alone=np.array([True, True, False]))
    assert figures["exact_string"] == 0.5 and figures["per_digit"] == 2 / 3
    low, high = figures["exact_interval"]  # Wilson: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    assert low == pytest.approx(0.0945, abs=1e-3) and high == pytest.approx(0.9055, abs=1e-3)
    assert evaluate_reading.exact_interval(95, 100) == pytest.approx([0.8882, 0.9785], abs=1e-3)
    assert figures["alone_exact"] == 0.5  # the second page's digit is misread even alone
    drawn = [Page(None, "3", [box], "fonts", [-1])]
    assert evaluate_reading.score(drawn, readings[1:], np.array([True]))["alone_exact"] is None
