# digitnet: `make demo` reads the example images with the shipped model; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench figures seed-model serve-figure bench-serve clean

$(BIN)/digitnet: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/digitnet
	$(BIN)/digitnet info
	$(BIN)/digitnet evaluate
	$(BIN)/digitnet predict examples/*.png examples/*.jpg --annotate runs/demo/annotated.png

test: $(BIN)/digitnet
	$(BIN)/python -m pytest

bench: $(BIN)/digitnet
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_train.py

# The shipped model: the original recipe on all 60,000 training images.
seed-model: $(BIN)/digitnet
	$(BIN)/digitnet train --epochs 200 --learning-rate 0.1 --batch-size 32 --seed 0 --validation 0 \
		--quiet --out src/digitnet/models/seed.npz

# The README screenshot of `digitnet serve`, taken by the browser test in headless Chromium.
serve-figure: $(BIN)/digitnet
	DIGITNET_ARTIFACTS=runs/serve-artifacts $(BIN)/python -m pytest -q tests/test_serve_browser.py
	cp runs/serve-artifacts/serve.png docs/figures/serve.png

bench-serve: $(BIN)/digitnet
	$(BIN)/python benchmarks/bench_serve.py

clean:
	rm -rf $(VENV) dist build .pytest_cache
