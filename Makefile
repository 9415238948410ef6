# ragchat: `make run` installs and runs the main job, `make test` installs and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# llama-cpp-python compiles llama.cpp; its default -march=native build crashes (SIGSEGV in the
# AMX path) on some CPUs, so it is built for AVX2, plus AVX-512 where this CPU has it (never AMX):
# the model reads a prompt in 0.64x the time with it (docs/benchmarks.md, "llama.cpp build").
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has_flags = $(if $(strip $(foreach flag,$(1),$(if $(filter $(flag),$(CPU_FLAGS)),,missing))),,yes)
AVX512_ARGS := $(if $(call has_flags,avx512f avx512cd avx512vl avx512dq avx512bw),-DGGML_AVX512=ON \
  $(if $(call has_flags,avx512_vnni),-DGGML_AVX512_VNNI=ON) \
  $(if $(call has_flags,avx512vbmi),-DGGML_AVX512_VBMI=ON) \
  $(if $(call has_flags,avx512_bf16),-DGGML_AVX512_BF16=ON))
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  $(if $(call has_flags,avx_vnni),-DGGML_AVX_VNNI=ON) $(strip $(AVX512_ARGS))

.PHONY: install run test test-fast lint docs bench browser pydocs manpages clean i18n-extract i18n-update i18n-compile

# The interface's languages (i18n/, docs/guides/languages.md): each .po catalogue compiled to the
# .mo the app reads, at install and whenever the .po changes (the .mo files are not in git).
PO_FILES := $(wildcard i18n/locales/*/LC_MESSAGES/ragchat.po)
CATALOGUES := $(PO_FILES:.po=.mo)
POT := i18n/ragchat.pot

install: $(VENV)/.installed $(CATALOGUES)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -e '.[dev]'
	$(PY) -m llms.bundled
	touch $@

# The compiled catalogues, rebuilt whenever their .po changes.
i18n/locales/%/LC_MESSAGES/ragchat.mo: i18n/locales/%/LC_MESSAGES/ragchat.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -l $* -i $< -o $@

i18n-compile: $(CATALOGUES)

# The messages marked in the code (_(), N_(), ngettext()) into the template...
i18n-extract: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --omit-header -o $(POT) .

# ...and into each language's catalogue: new messages arrive untranslated (English gets its own
# text), for a translator to fill in; then `make i18n-compile`.
i18n-update: i18n-extract
	$(VENV)/bin/pybabel update --ignore-obsolete -w 100 -i $(POT) -d i18n/locales -D ragchat
	$(PY) -m i18n.english

run: install
	$(PY) ingest.py
	@echo "ragchat: open http://localhost:8501 (Ctrl-C stops it)"
	$(PY) -m streamlit run app.py

test: install browser pydocs manpages
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir .site
	$(PY) -m pytest

# The everyday lane: fakes and unit tests, no real model, server or browser (a few minutes).
test-fast: install
	$(PY) -m pytest -m "not heavy"

# Debian's Chromium, its driver and CJK fonts for the browser test (skipped when not installable).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver fonts-noto-cjk) \
	  || echo "chromium not installable here: the browser test will be skipped"

# Debian's Python documentation: the real manual of the python3-doc quality gates (skipped when
# not installable).
pydocs:
	@test -d /usr/share/doc/python3/html/library \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-doc) \
	  || echo "python3-doc not installable here: its quality gates will be skipped"

# Debian's Chinese manual pages (they keep options, commands and some passages in English): the
# mixed-language real corpus of the translation and question-kind gates; groff renders them.
manpages:
	@(test -d /usr/share/man/zh_CN/man1 && command -v groff >/dev/null) \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      manpages-zh groff-base) \
	  || echo "manpages-zh not installable here: its gates will be skipped"

# Style, and the layers' import contracts: an import that runs upward fails here.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

# The documentation site (docs/, mkdocs.yml) into .site/, every link checked.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir .site

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/query.py
	$(PY) bench/answer.py --server --transformers
	$(PY) bench/serve.py
	$(PY) bench/injection.py --server

clean:
	rm -rf $(VENV) .ragchat .pytest_cache .ruff_cache .site
