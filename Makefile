# elf — build the book, run the tests, compute the dataset.  `make` lists the targets.
SHELL := /bin/bash
PYTHON_SYS ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
PROFILE ?= default
BOOK_JOBS ?= 2  # notebooks executed at once (their shared stages wait on one lock per key)
NOTEBOOKS := $(sort $(wildcard book/[a-z]*.py))
EXECUTED := $(patsubst book/%.py,book/_executed/%.ipynb,$(NOTEBOOKS))
APT_DEPS := build-essential libxc-dev libopenblas-dev libfftw3-dev
BROWSER_DEPS := chromium chromium-driver
OCR_DEPS := tesseract-ocr

.PHONY: help venv gpaw browser ocr lint test test-fast notebooks book book-smoke linkcheck screenshots data card models cnnf tc-setup bench clean FORCE

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

venv: $(VENV)/.installed  ## create .venv and install elfutils with the book and test extras

# uv installs the pinned set pip would (pip's own find-links, indexes and constraints passed on:
# scripts/uv_pip_args.py), compiled to bytecode as pip does, in about a fifth of the time; pip does it where
# uv cannot
$(VENV)/.installed: pyproject.toml scripts/uv_pip_args.py
	test -x $(PYTHON) || $(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q -U pip uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PYTHON) $$($(PYTHON) scripts/uv_pip_args.py) \
	  -e '.[book,test]' \
	  || $(PIP) install -q -e '.[book,test]'
	touch $@

gpaw: $(VENV)/.gpaw  ## build GPAW (serial, libxc/OpenBLAS/FFTW) into .venv; installs the Debian build deps as root

$(VENV)/.gpaw: $(VENV)/.installed scripts/gpaw-siteconfig.py
	dpkg -s $(APT_DEPS) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_DEPS); }
	GPAW_CONFIG=$(CURDIR)/scripts/gpaw-siteconfig.py $(PIP) install -q -e '.[dft]'
	touch $@

browser:  ## headless Chromium and its chromedriver for the rendered-book checks (Debian packages)
	command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_DEPS); }

ocr:  ## Tesseract, which reads the axes of band-structure figures (Debian package)
	command -v tesseract >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_DEPS); }

lint: venv  ## ruff over the library, tests, benchmarks and scripts (pyproject.toml's rules; zero findings)
	$(VENV)/bin/ruff check elfutils tests benchmarks scripts

test: venv gpaw browser ocr lint  ## run the whole test suite (installs what it needs), after the lint
	$(PYTHON) -m pytest -q

test-fast: venv  ## the tests that need neither GPAW nor a browser
	$(PYTHON) -m pytest -q -m "not dft and not browser"

# FORCE + --if-changed: a notebook re-executes exactly when its source, the profile, elfutils or the data changed
book/_executed/%.ipynb: book/%.py $(VENV)/.installed FORCE
	@mkdir -p book/_executed
	$(PYTHON) -m elfutils.book.notebooks execute $< $@ --profile $(PROFILE) --if-changed

# the reproducibility page reports this build's timings: run it last
book/_executed/reproducibility.ipynb: $(filter-out book/_executed/reproducibility.ipynb,$(EXECUTED))

FORCE:

notebooks: $(EXECUTED)  ## execute every notebook with papermill (PROFILE=default|smoke|retrain|2dmatpedia|atlas)

# Sphinx stops before copying book/_static when no page changed: a changed stylesheet rebuilds every page
_build/.static-stamp: $(wildcard book/_static/*)
	@mkdir -p _build && touch _build/.rebuild-all $@

book: venv ocr _build/.static-stamp  ## execute the notebooks (cached stages are reused) and build the HTML book
	$(MAKE) -j$(BOOK_JOBS) notebooks PROFILE=$(PROFILE)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going $$(test -e _build/.rebuild-all && echo --all)
	@rm -f _build/.rebuild-all
	$(PYTHON) -m elfutils.book.html_check _build/html

book-smoke:  ## the whole book in the tiny smoke profile (minutes)
	$(MAKE) book PROFILE=smoke

linkcheck: ## check internal links of the built book
	$(PYTHON) -m elfutils.book.notebooks linkcheck _build/html

screenshots: browser  ## load every chapter of the built book in headless Chromium and save screenshots/
	$(PYTHON) -m elfutils.book.notebooks browse _build/html --out screenshots

data: gpaw  ## compute (or resume) the DFT dataset: data/bands/gpaw-pbe.elfstore
	$(VENV)/bin/elf dft --fixtures
	$(VENV)/bin/elf dft

card: venv  ## rewrite data/bands/CARD.md (the dataset card) from the committed stores
	$(PYTHON) scripts/write_dataset_card.py --write

models: venv  ## retrain the committed model and architecture comparison on the dataset (hours on CPU), export to models/
	$(PYTHON) scripts/commit_models.py --refresh

cnnf: venv  ## recompute the committed structural (CNNF) fingerprints in data/structure-fingerprints (~10 CPU-min)
	$(PYTHON) scripts/commit_cnnf.py --refresh

tc-setup: gpaw  ## regenerate the technetium PAW setup and basis in data/gpaw-setups (gpaw-data has none)
	OMP_NUM_THREADS=1 $(PYTHON) scripts/make_tc_setup.py --write

bench: venv  ## speed benchmarks (renderer, training); prints figures and ratios
	$(PYTHON) benchmarks/bench_render.py
	$(PYTHON) benchmarks/bench_training.py

clean:  ## remove build products (keeps .venv and the cache)
	rm -rf _build book/_executed
