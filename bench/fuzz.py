"""Fuzz one loader: libFuzzer (through atheris) mutates valid small files of a format, guided by
the code each input reaches, and every input must load to a Document or fail with a LoaderError.
The seeds are made by `evaluation.fuzz_seeds`.

Zip-based formats (.docx, .xlsx, .pptx) are mutated inside: one part's bytes, then zipped again
(mostly), so inputs get past the archive's checksums into the XML readers. The OCR model is
replaced by one that reads nothing (--ocr keeps it): what a hostile file attacks is the parsing
and decoding before it (pypdf, PDFium, Pillow); the model's cost is bounded by the picture size.

    python bench/fuzz.py .pdf --seconds 600          # one format for ten minutes
    python bench/fuzz.py .docx --seconds 60 -- -jobs=2 -workers=2   # more libFuzzer flags

A finding stops the run with a non-zero exit and leaves its input in the artifacts folder
(default .ragchat/fuzz/artifacts/<format>/): `crash-*` for an exception other than LoaderError, or a
LoaderError from `load_document`'s last line of defence ("loader crashed: ..."); `timeout-*` for
an input that took longer than --timeout; `oom-*` for one that needed more than --memory-mb.
Replay one with `python bench/fuzz.py .pdf -- .ragchat/fuzz/artifacts/pdf/crash-...`. The corpus
(seeds, then what libFuzzer found worth keeping) lives in .ragchat/fuzz/corpus/<format>/ and grows
from run to run; tests/test_fuzz_loaders.py runs every format for a short budget in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evaluation.fuzz_seeds import CRASH_PREFIX, seeds  # noqa: E402

FUZZ_DIR = REPO / ".ragchat" / "fuzz"


def main() -> None:
    args = _parse_args()
    _count_memory_afresh()
    name = args.suffix.lstrip(".")
    corpus = args.corpus or FUZZ_DIR / "corpus" / name
    artifacts = args.artifacts or FUZZ_DIR / "artifacts" / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)

    import atheris

    if not args.ocr:
        _read_nothing_by_ocr()
    scratch = Path(tempfile.mkdtemp(prefix="ragchat-fuzz-")) / f"input{args.suffix}"
    with atheris.instrument_imports(include=_INSTRUMENTED):
        from loaders import LoaderError, load_document

        seed_files = seeds(args.suffix)
        for seed_name, data in seed_files.items():
            (corpus / f"seed-{seed_name}").write_bytes(data)

        def test_one_input(data: bytes) -> None:
            scratch.write_bytes(data)
            try:
                document = load_document(scratch, scratch.name)
            except LoaderError as err:
                if str(err).startswith(CRASH_PREFIX):
                    raise
                return
            if not document.page_content.strip():
                raise AssertionError("a Document without text")

        for seed in corpus.iterdir():
            with contextlib.suppress(Exception):  # libFuzzer runs the seeds again, and reports
                test_one_input(seed.read_bytes())

    replay = [arg for arg in args.libfuzzer if not arg.startswith("-")]
    flags = [
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.memory_mb}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    if not replay:
        flags += [f"-max_total_time={args.seconds}", str(corpus)]
    zipped = any(zipfile.is_zipfile(io.BytesIO(data)) for data in seed_files.values())
    if zipped:
        flags.append(f"-max_len={_ZIP_MAX_LEN}")
    extra = {"custom_mutator": _mutate_inside_zip} if zipped else {}
    atheris.Setup([sys.argv[0], *flags, *args.libfuzzer], test_one_input, **extra)
    atheris.Fuzz()


def _count_memory_afresh() -> None:
    """Go on in a forked child, the parent waiting for its exit status. libFuzzer's memory
    limit reads the peak RSS from getrusage, and Linux carries the peak of the process that
    started this one over exec: started by a pytest that has loaded models (11 GB), every input
    would count as out of memory. A fork starts counting from this process's own size."""
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        sys.exit(os.waitstatus_to_exitcode(status))


_INSTRUMENTED = [
    "loaders",
    "yaml",
    *("pypdf", "pypdfium2", "bs4", "html", "_markupbase", "docx", "openpyxl", "pptx", "PIL"),
    *("charset_normalizer", "xml", "defusedxml", "et_xmlfile", "zipfile", "csv"),
]
"""Packages whose coverage guides the fuzzer: ragchat's loaders and the parsers they call (a new
loader's library belongs here). Not LangChain, pydantic or HTTP clients: instrumenting those
costs a minute of start-up and guides nothing."""
_ZIP_MAX_LEN = 1 << 20
_CONTAINER_MUTATIONS = 0.1
"""How often a zip-based input has its archive mutated rather than a part inside it."""


def _mutate_inside_zip(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation of one part of the archive, zipped again; sometimes of the archive
    itself, and always when the input is no longer a readable archive."""
    import atheris

    chooser = random.Random(seed)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
    except Exception:  # whatever a broken archive raises: mutate it as bytes
        parts = {}
    if not parts or chooser.random() < _CONTAINER_MUTATIONS:
        return atheris.Mutate(data, max_size)
    name = chooser.choice(sorted(parts))
    parts[name] = atheris.Mutate(parts[name], max(len(parts[name]) * 2, 64))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in parts.items():
            archive.writestr(part, content)
    return buffer.getvalue()[:max_size]


def _read_nothing_by_ocr() -> None:
    """Stand in for RapidOCR (never imported, so neither is its runtime) with a model that finds
    no text in any picture."""

    class NoText:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __call__(self, *args: object, **kwargs: object) -> SimpleNamespace:
            return SimpleNamespace(txts=(), boxes=None, scores=())

    mock.patch.dict(sys.modules, {"rapidocr": SimpleNamespace(RapidOCR=NoText)}).start()


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suffix", help="the format, as its suffix: .pdf, .docx, ...")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--memory-mb", type=int, default=2048, help="most memory (RSS)")
    parser.add_argument("--corpus", type=Path, help="corpus folder")
    parser.add_argument("--artifacts", type=Path, help="where findings are written")
    parser.add_argument("--ocr", action="store_true", help="keep the real OCR model (slow)")
    parser.add_argument("libfuzzer", nargs="*", help="after --: libFuzzer flags or inputs")
    return parser.parse_intermixed_args()


if __name__ == "__main__":
    main()
