"""Fuzzed loaders: every reader in `loaders.LOADERS` (one suffix per reader, so a loader added
later is fuzzed as soon as it is registered) gets mutated files for a few seconds, and every input
must load to a Document or fail with a LoaderError (not one from the last line of defence), within
10 s and 2048 MB.

The fuzzer is libFuzzer through atheris, coverage-guided, one subprocess per reader
(bench/fuzz.py, starting from the seeds of `evaluation.fuzz_seeds`), as many at once as there
are cores, each from fresh seeds with a fixed seed so that a run can be repeated.
RAGCHAT_FUZZ_SECONDS sets the seconds per reader (default 10): a longer campaign is
`RAGCHAT_FUZZ_SECONDS=600 python -m pytest tests/test_fuzz_loaders.py`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evaluation.fuzz_seeds import CRASH_PREFIX, NO_SEEDS, seeds
from loaders import LOADERS, LoaderError, load_document
from tests.support.paths import REPO

SECONDS = int(os.environ.get("RAGCHAT_FUZZ_SECONDS", "10"))
TIMEOUT_S, MEMORY_MB = 10, 2048
TARGETS = sorted({reader: suffix for suffix, reader in reversed(LOADERS.items())}.values())
"""One suffix per reader, the first registered: .markdown shares .md's, .htm .html's."""


def fuzz(suffix: str, folder: Path) -> subprocess.CompletedProcess[str]:
    name = suffix.lstrip(".")
    command = [sys.executable, str(REPO / "bench" / "fuzz.py"), suffix, "--seconds", str(SECONDS)]
    command += ["--timeout", str(TIMEOUT_S), "--memory-mb", str(MEMORY_MB)]
    command += ["--corpus", str(folder / name / "corpus")]
    command += ["--artifacts", str(folder / name / "artifacts"), "--", "-seed=1"]
    # Beyond its budget only while an input hangs past -timeout, and libFuzzer stops that.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=SECONDS + 4 * TIMEOUT_S + 120
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every target fuzzed, as many at once as there are cores."""
    folder = tmp_path_factory.mktemp("fuzz")
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        runs = pool.map(lambda suffix: fuzz(suffix, folder), TARGETS)
        return dict(zip(TARGETS, runs, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("suffix", TARGETS)
def test_a_mutated_file_loads_or_fails_with_a_loader_error(campaign, suffix):
    run = campaign[suffix]
    if NO_SEEDS in run.stderr:
        warnings.warn(f"{suffix} is fuzzed from generic bytes: give it seeds", stacklevel=1)
    finding = re.search(
        r"(=== Uncaught Python exception|ERROR: libFuzzer|ALARM).*", run.stderr, re.S
    )
    assert run.returncode == 0, f"fuzzing {suffix}:\n{finding.group(0) if finding else run.stderr}"
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", run.stderr))
    print(
        f"{suffix}: {stats['number_of_executed_units']} inputs, {stats['average_exec_per_sec']}/s"
    )
    assert int(stats["number_of_executed_units"]) > 0


def _pdf_with_a_broken_page_tree() -> bytes:
    """The seed PDF with a stray byte in its page list: pypdf finds no text and PDFium cannot load
    the pages, which OCR would read (found by the fuzzer: PdfiumError escaped)."""
    return seeds(".pdf")["two-pages"].replace(b"/Kids [3 0 R\n5 0 R]", b"/Kids [3 0 R\x06 5 0 R]")


@pytest.mark.parametrize(
    "suffix, data, reason",
    [
        (".html", b"<![<!<!doc\xc3\xb4ty<!DOCTp", "malformed HTML"),  # bs4's ParserRejectedMarkup
        (".pdf", _pdf_with_a_broken_page_tree(), "cannot render PDF pages for OCR"),
    ],
)
def test_what_the_fuzzer_found_fails_with_a_reason(tmp_path, suffix, data, reason):
    path = tmp_path / f"found{suffix}"
    path.write_bytes(data)
    with pytest.raises(LoaderError, match=reason) as caught:
        load_document(path, path.name)
    assert not str(caught.value).startswith(CRASH_PREFIX)
