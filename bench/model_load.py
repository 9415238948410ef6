"""How long the `transformers` backend and `finetune.py` take to load the bundled model: from
its GGUF (transformers parses and dequantizes it) against from the kept float32 copy
(`llms.dequantized`), in the same run.

    python bench/model_load.py            # 3 runs of each, alternating
    python bench/model_load.py --runs 5

Each load runs in a fresh process and is timed from the imports done to the first token's
logits of a short prompt (so that the copy's memory-mapped weights are really read), tokenizer
included. The copy is made first if it is missing, and that first load is reported apart.
Prints medians and the ratio to the GGUF load; JSON goes to bench/results/model_load.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "model_load.json"

ONE_LOAD = """
import json, sys, time
sys.path.insert(0, {repo!r})
import torch
from llms.transformers_backend import load_causal_lm, load_tokenizer, model_source
start = time.perf_counter()
source = model_source({models!r}, {gguf!r}, keep_dequantized={keep})
tokenizer, model = load_tokenizer(*source), load_causal_lm(*source)
with torch.no_grad():
    model(tokenizer("束搜索每一步保留什么？", return_tensors="pt").input_ids)
print(json.dumps({{"seconds": time.perf_counter() - start, "source": source[0]}}))
"""


def load_seconds(gguf: Path, keep: bool) -> float:
    code = ONE_LOAD.format(repo=str(REPO), models=str(gguf.parent), gguf=gguf.name, keep=keep)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from config import BUNDLED_MODEL_PATH
    from llms.dequantized import current_copy

    gguf = REPO / BUNDLED_MODEL_PATH
    first = None if current_copy(gguf) else load_seconds(gguf, keep=True)
    times: dict[str, list[float]] = {"gguf": [], "kept copy": []}
    for _ in range(args.runs):
        times["gguf"].append(load_seconds(gguf, keep=False))
        times["kept copy"].append(load_seconds(gguf, keep=True))
    medians = {way: statistics.median(seconds) for way, seconds in times.items()}
    print(f"{'load':<12}{'median s':>10}{'ratio':>8}   runs")
    for way, seconds in times.items():
        ratio = medians[way] / medians["gguf"]
        runs = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{way:<12}{medians[way]:>10.1f}{ratio:>8.2f}   {runs}")
    if first is not None:
        print(f"first load, making the copy: {first:.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"runs": times, "medians": medians, "first_load_making_the_copy": first}
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
