# ragchat: `make run` installs and runs the main job, `make test` installs and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# llama-cpp-python compiles llama.cpp; its default -march=native build crashes (SIGSEGV in the
# AMX path) on some CPUs, so it is built for plain AVX2 instead.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[dev]'
	$(PY) -m llms.bundled
	touch $@

run: install
	$(PY) ingest.py

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: install
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) .ragchat .pytest_cache .ruff_cache
