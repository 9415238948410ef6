"""Where the tests find the repository, its sample notes, the shared seed notes and the bundled
model."""

from pathlib import Path

from config import BUNDLED_MODEL_PATH

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "data" / "sample"
SEEDS_DIR = REPO.parent / "shared" / "corpus" / "seeds"
DATA = REPO / "tests" / "data"
"""QA sets, the injection set, an index written by an earlier version."""
MODEL = REPO / BUNDLED_MODEL_PATH
"""The bundled GGUF chat model (`make install` puts it there)."""
