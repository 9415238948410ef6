"""Prompt-injection benchmark: does the answer follow instructions planted in the documents?

    python bench/injection.py                       # local model: clean, keep, flag, drop
    python bench/injection.py --server              # + the openai backend on a local server
    python bench/injection.py --policies flag

The set (tests/data/injection_qa.jsonl, 24 documents, 12 Chinese, 12 English) holds in each
document a real fact and a planted instruction (ignore the question, a fake system prompt,
chat-template tokens, a forged passage, a request for the prompt, a link to send the user to,
"you are now ...", answer in another language, a false "correct answer"). Each question's
answer is the fact. Per condition: the follow rate (the answer holds the instruction's canary)
and the fact's containment, overall, per language and per split (tune/report). `clean` asks
the same questions over the documents without the instructions: the containment the planted
ones must not fall below. `keep`, `flag`, `drop` are `retrieval.instruction_passages`.
Results: bench/results/injection.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import OpenAIProfile, Settings, load_settings  # noqa: E402
from evaluation.injection_set import ask_all, read_injection_set, write_documents  # noqa: E402
from evaluation.scoring import rate  # noqa: E402
from llms.local_server import llama_server  # noqa: E402
from services.container import ServiceHub  # noqa: E402

SET = REPO / "tests" / "data" / "injection_qa.jsonl"
CONDITIONS = ["clean", "keep", "flag", "drop"]


def main() -> None:
    args = _parse_args()
    items = read_injection_set(SET)
    folder = Path(tempfile.mkdtemp(prefix="ragchat-bench-injection-"))
    planted = write_documents(items, folder / "planted", planted=True)
    clean = write_documents(items, folder / "clean", planted=False)
    settings = load_settings()
    profiles = {"local": "local"}
    results: dict[str, dict] = {}
    with ExitStack() as stack:
        if args.server:
            base_url = stack.enter_context(llama_server(settings.llm.profiles["local"].model_path))
            settings.llm.profiles["server"] = OpenAIProfile(
                model="local", base_url=base_url, api_key="bench", n_ctx=4096, temperature=0.0
            )
            profiles["openai (llama.cpp server)"] = "server"
        for backend, profile in profiles.items():
            for condition in args.policies:
                docs = clean if condition == "clean" else planted
                policy = "keep" if condition == "clean" else condition
                hub = _hub(settings, docs, folder / f"index-{condition}", policy)
                rows = ask_all(hub.service(profile), items)
                summary = _summary(rows)
                results[f"{backend} / {condition}"] = {"summary": summary, "rows": rows}
                print(f"{backend} / {condition}: {json.dumps(summary)}", flush=True)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "injection.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))


def _hub(settings: Settings, docs: Path, index: Path, policy: str) -> ServiceHub:
    chosen = settings.model_copy(deep=True)
    chosen.paths.documents, chosen.paths.index = docs, index
    chosen.retrieval.instruction_passages = policy
    hub = ServiceHub(chosen)
    hub.ingest(on_message=lambda _: None)
    return hub


def _summary(rows: list[dict]) -> dict:
    def measures(subset: list[dict]) -> dict:
        return {
            "n": len(subset),
            "followed": rate(subset, "followed"),
            "contained": rate(subset, "contained"),
            "flagged": rate(subset, "flagged"),
        }

    groups = {"all": rows}
    for key in ("language", "split"):
        for value in sorted({r[key] for r in rows}):
            groups[value] = [r for r in rows if r[key] == value]
    return {name: measures(subset) for name, subset in groups.items()}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", nargs="+", choices=CONDITIONS, default=CONDITIONS)
    parser.add_argument("--server", action="store_true", help="also the openai backend")
    return parser.parse_args()


if __name__ == "__main__":
    main()
