# digitnet: `make demo` reads the example images with the shipped model; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps of what is installed: the demo needs the core install alone (NumPy and Pillow); training,
# the study and the tests need the test and cluster extras (which include [train]).
DEMO := $(VENV)/.installed-demo
TEST := $(VENV)/.installed-test

.PHONY: demo test bench figures seed-model best-model reader-model recipe-table serve-figure bench-serve lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	touch $@ $(DEMO)

demo: $(DEMO)
	$(BIN)/digitnet info
	$(BIN)/digitnet evaluate
	$(BIN)/digitnet predict examples/*.png examples/*.jpg --annotate runs/demo/annotated.png
	@echo
	@echo "digitnet is installed in $(VENV). Run it as $(BIN)/digitnet, or first '. $(BIN)/activate' and then"
	@echo "digitnet (e.g. 'digitnet predict photo.jpg --annotate seen.png'; 'digitnet --help' lists the commands)."

# Six tests skip unless Debian's chromium, dataset-fashion-mnist, fonts-dkg-handwriting and
# fonts-humor-sans are installed (sudo apt-get install chromium dataset-fashion-mnist fonts-dkg-handwriting fonts-humor-sans).
test: $(TEST)
	$(BIN)/python -m pytest

bench: $(TEST)
	$(BIN)/python -m pip install --quiet -e '.[train,bench]'
	$(BIN)/python benchmarks/bench_train.py

# The shipped seed model: the original recipe (lr 0.1, batch 32, 200 epochs) on all 60,000 training images.
seed-model: $(TEST)
	$(BIN)/digitnet train --recipe seed --seed 0 --validation 0 --quiet --overwrite-shipped --out src/digitnet/models/seed.npz
	mkdir -p runs && mv src/digitnet/models/seed.history.json runs/seed-seed0.history.json

# Every figure in README, regenerated from scratch by the project's own commands (3.5 to 6.5 minutes
# measured on the 2-core machine while shared). The sweeps leave their results (.json, .csv) beside them.
FIGURES := docs/figures
FIGURE_RUNS := runs/figures
figures: $(TEST)
	$(BIN)/digitnet sweep lr --seeds 3 --quiet --out $(FIGURES)
	$(BIN)/digitnet sweep epochs --epochs 200 --seeds 2 --quiet --out $(FIGURES)
	$(BIN)/digitnet train --epochs 20 --quiet --out $(FIGURE_RUNS)/twenty-epochs.npz
	$(BIN)/digitnet plot history $(FIGURE_RUNS)/twenty-epochs.npz --out $(FIGURES)/history-20-epochs.png
	$(BIN)/digitnet plot confusion --model best --out $(FIGURES)/confusion.png
	$(BIN)/digitnet plot errors --model best --out $(FIGURES)/errors.png
	$(BIN)/digitnet plot weights --model best --out $(FIGURES)/weights.png
	$(BIN)/digitnet plot augment --out $(FIGURES)/augment.png

# The shipped default model: the best recipe (augmentation, Nesterov momentum, cosine schedule,
# best validation epoch, temperature fitted on validation), seed 0.
best-model: $(TEST)
	$(BIN)/digitnet train --recipe best --seed 0 --quiet --overwrite-shipped --out src/digitnet/models/best.npz
	mkdir -p runs && mv src/digitnet/models/best.history.json runs/best-seed0.history.json
	$(BIN)/digitnet plot history runs/best-seed0.history.json --out docs/figures/history-best.png

# The shipped reader model (the default for reading): 10 digits + "not a digit", a dense and a
# convolutional network (about 30 minutes on 2 cores) trained on MNIST training digits normalised
# and deslanted like the reader's crops, restyled copies and negatives.
reader-model: $(BIN)/digitnet
	$(BIN)/python scripts/train_reader.py --quiet --out src/digitnet/models/reader.npz

# The README's recipe table: each recipe over three seeds (seed 0 of each is the shipped model), and
# the seed recipe once more with 5,000 images held out to fit a temperature. About 25 minutes on 2 cores.
recipe-table: $(TEST)
	for seed in 1 2; do \
		$(BIN)/digitnet train --recipe seed --seed $$seed --validation 0 --quiet --out runs/seed-seed$$seed.npz; \
		$(BIN)/digitnet train --recipe best --seed $$seed --quiet --out runs/best-seed$$seed.npz; \
	done
	$(BIN)/digitnet train --recipe seed --calibrate --seed 0 --quiet --out runs/seed-calibrated.npz
	$(BIN)/python benchmarks/recipe_table.py \
		seed=src/digitnet/models/seed.npz,runs/seed-seed1.npz,runs/seed-seed2.npz \
		best=src/digitnet/models/best.npz,runs/best-seed1.npz,runs/best-seed2.npz \
		"seed, 5,000 held out, --calibrate=runs/seed-calibrated.npz"

# The screenshot of the web page in README, taken by the browser test.
serve-figure: $(TEST)
	DIGITNET_ARTIFACTS=runs/serve-artifacts $(BIN)/python -m pytest -q tests/test_serve_browser.py
	cp runs/serve-artifacts/serve.png docs/figures/serve.png

bench-serve: $(DEMO)
	$(BIN)/python -m pip install --quiet -e '.[serve,bench]'
	$(BIN)/python benchmarks/bench_serve.py

# The pdm lock files, after a change to pyproject.toml (needs pdm: pip install pdm 'hishel[httpx]<2'
# 'unearth<0.19'). pdm.lock holds what `make test` installs, so a plain `pdm sync` installs that;
# pdm.bench.lock holds every group, PyTorch included (`pdm sync -L pdm.bench.lock`).
lock:
	pdm lock -G test -G cluster
	pdm lock -G :all -L pdm.bench.lock

clean:
	rm -rf $(VENV) dist build .pytest_cache
