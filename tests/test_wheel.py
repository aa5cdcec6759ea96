"""What users install must work: build the wheel, install it alone in a fresh virtualenv outside the checkout.

The virtualenv gets the core install only (NumPy and Pillow), put there by this interpreter's pip
(``pip --python``), so it holds no pip of its own: what it weighs is digitnet and what it needs.
"""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_INSTALL_LIMIT_MB = 120
OPTIONAL = ("scipy", "matplotlib", "joblib", "zarr", "pureml", "tqdm", "threadpoolctl")


def size_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.mark.slow
def test_the_wheel_alone_installs_in_a_small_fresh_virtualenv_and_reads_a_photo(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", ROOT],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("digitnet-*.whl"))
    venv.create(tmp_path / "venv", with_pip=False)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "--quiet", wheel],
                   check=True, capture_output=True)

    # A working directory and a cache of their own: nothing from the checkout or an earlier run is found.
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": ""}
    env.pop("DIGITNET_DATA", None)
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True)
    found = subprocess.run([bin_dir / "python", "-c", "import importlib.util as u; print([m for m in "
                            f"{OPTIONAL!r} if u.find_spec(m)])"], **run)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr
    assert size_mb(tmp_path / "venv") < CORE_INSTALL_LIMIT_MB

    info = subprocess.run([bin_dir / "digitnet", "info", "--json"], **run)
    assert info.returncode == 0, info.stderr
    assert str(tmp_path / "venv") in json.loads(info.stdout)["path"]
    photo = subprocess.run([bin_dir / "digitnet", "predict", "--json", ROOT / "examples" / "blue-ink-on-cream.jpg"],
                           **run)
    assert photo.returncode == 0, photo.stderr
    assert json.loads(photo.stdout)["digits"]
    evaluation = subprocess.run([bin_dir / "digitnet", "evaluate", "--json"], **run)
    assert evaluation.returncode == 0, evaluation.stderr
    assert json.loads(evaluation.stdout)["accuracy"] >= 0.98
    train = subprocess.run([bin_dir / "digitnet", "train", "--epochs", "1"], **run)
    assert train.returncode == 2 and "pip install 'digitnet[train]'" in train.stderr
