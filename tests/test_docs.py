"""The documentation stays true: README is a short guide, every link and figure exists, and the
architecture document names exactly the modules the package has."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "digitnet"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_a_guide_of_at_most_10_kb():
    assert len((ROOT / "README.md").read_bytes()) <= 10 * 1024


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_and_figure_exists(document):
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8"))
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    missing = [t for t in local if not (document.parent / t).exists()]
    assert not missing, f"{document.name} links to missing files: {missing}"


def test_the_architecture_table_names_every_module_and_only_those():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", text, flags=re.MULTILINE))
    modules = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")}
    assert modules - named == set(), "modules missing from docs/architecture.md's table"
    assert named - modules == set(), "docs/architecture.md names modules that do not exist"
