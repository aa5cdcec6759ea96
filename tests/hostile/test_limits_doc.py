"""docs/limits.md states the value of every limit it names, as the code defines it."""

import importlib
import re
from pathlib import Path

import pytest

LIMITS_DOC = Path(__file__).parents[2] / "docs" / "limits.md"
ROW = re.compile(r"^\| [^|]+ \| (?P<value>[^|]+) \| `(?P<name>digitnet\.[\w.]+)` \|$", re.MULTILINE)


def stated(value) -> str:
    """A limit as the page writes it: 1,048,576; 0.05 to 20; 5."""
    if isinstance(value, tuple):
        return " to ".join(stated(v) for v in value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


ROWS = ROW.findall(LIMITS_DOC.read_text())


def test_the_page_has_a_row_for_each_kind_of_limit():
    assert len(ROWS) >= 20


@pytest.mark.parametrize("value,name", ROWS, ids=[name for _, name in ROWS])
def test_the_page_states_the_value_the_code_defines(value, name):
    module, constant = name.rsplit(".", 1)
    assert value.split(" (")[0] == stated(getattr(importlib.import_module(module), constant))
