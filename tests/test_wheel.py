"""What users install must work: build the wheel, install it in a fresh virtualenv outside the checkout."""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_virtualenv_and_its_commands_work(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", ROOT],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("digitnet-*.whl"))
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel], check=True, capture_output=True)

    # A working directory and a cache of their own: nothing from the checkout or an earlier run is found.
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": ""}
    env.pop("DIGITNET_DATA", None)
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True)
    info = subprocess.run([bin_dir / "digitnet", "info", "--json"], **run)
    assert info.returncode == 0, info.stderr
    assert str(tmp_path / "venv") in json.loads(info.stdout)["path"]
    evaluation = subprocess.run([bin_dir / "digitnet", "evaluate", "--json"], **run)
    assert evaluation.returncode == 0, evaluation.stderr
    assert json.loads(evaluation.stdout)["accuracy"] >= 0.98
