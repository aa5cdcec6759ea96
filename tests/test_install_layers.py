"""The core install reads digits with NumPy and Pillow alone; a command whose extra is missing says what to install.

Each command runs in a fresh interpreter in which the optional packages cannot be imported: a finder
at the front of ``sys.meta_path`` refuses them, as if ``pip install digitnet`` were all there was.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRA_PACKAGES = ("scipy", "matplotlib", "joblib", "threadpoolctl", "tqdm", "zarr", "pureml", "fastapi",
                  "uvicorn", "onnx", "dask", "distributed")
WITHOUT_EXTRAS = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = set(sys.argv[1].split(","))

class RefuseExtras(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, RefuseExtras())
from digitnet.cli import main
status = main(sys.argv[2:])
loaded = sorted(m for m in BLOCKED if m in sys.modules)
print("LOADED " + ",".join(loaded), file=sys.stderr)
sys.exit(status)
"""


def digitnet_without(blocked, *args, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    env.pop("DIGITNET_DATA", None)
    return subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, ",".join(blocked), *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def test_predict_reads_a_photo_without_any_extra(tmp_path):
    result = digitnet_without(EXTRA_PACKAGES, "predict", "--json", ROOT / "examples" / "touching.png",
                              tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["digits"]
    assert result.stderr.strip().endswith("LOADED")  # nothing optional was even imported


def test_info_works_without_any_extra(tmp_path):
    result = digitnet_without(EXTRA_PACKAGES, "info", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layer_sizes"][0] == 784


def test_evaluate_measures_the_shipped_model_on_the_shipped_test_set_without_any_extra(tmp_path):
    result = digitnet_without(EXTRA_PACKAGES, "evaluate", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads(result.stdout)
    assert evaluation["data"] == "the MNIST test set shipped with digitnet"
    assert evaluation["accuracy"] >= 0.98
    assert sum(map(sum, evaluation["confusion_matrix"])) == 10000


@pytest.mark.parametrize("command,blocked,extra", [
    (["train", "--epochs", "1", "--out", "m.npz"], "scipy", "train"),
    (["train", "--epochs", "1", "--out", "m.npz"], "tqdm", "train"),
    (["plot", "weights", "--out", "w.png"], "matplotlib", "train"),
    (["sweep", "lr", "--out", "sweep"], "joblib", "train"),
    (["serve", "--port", "0"], "fastapi", "serve"),
    (["export", "best", "--onnx", "m.npz"], "onnx", "onnx"),
])
def test_a_command_whose_extra_is_missing_names_the_install_in_one_line(tmp_path, command, blocked, extra):
    result = digitnet_without((blocked,), *command, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-2]  # the last line is the finder's report
    assert re.fullmatch(rf"digitnet {command[0]}( \w+)?: error: {blocked} is not installed: "
                        rf"pip install 'digitnet\[{extra}\]'", error), error
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("m.npz")) + list(tmp_path.glob("w.png"))


def test_the_shipped_test_set_is_mnists_own(mnist):
    from digitnet.data import SHIPPED_TEST_SET, load_test_split, test_split

    shipped, source = load_test_split()
    assert source == SHIPPED_TEST_SET
    cached = test_split(mnist)
    assert (shipped.images == cached.images).all() and (shipped.labels == cached.labels).all()
