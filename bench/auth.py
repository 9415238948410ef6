"""Auth benchmark: what knowing who asks costs a request, and what signing in costs.

    python bench/auth.py                          # 200 requests per case, median of 5 runs
    python bench/auth.py --requests 500 --runs 7

Two copies of the API over one index of the sample notes, served in this process (uvicorn on
loopback, one keep-alive HTTP client, one request at a time): auth off (the local operator, no
key) and auth on (an editor's own API key; the accounts file holds 20 people and 10 knowledge
bases besides `default`, each shared with everyone, so both copies list the same rows). Per run,
each copy answers `--requests` requests of `GET /v1/knowledge_bases` and of `POST
/v1/chat/completions` (BM25 retrieval over the sample notes, no rerank, and a chat model
stand-in that answers at once: what is timed is the API, retrieval and the permission checks),
the copies taking turns run by run. The table gives the median over runs of the mean time per
request, and the difference on minus off. Sign-in: `AccountService.sign_in` (argon2 verify and
a session row), `session_person` (the app's check on every page run) and `authenticate_key`
(the API's on every request), medians. Results: bench/results/auth.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import httpx
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.app import create_app  # noqa: E402
from config import AuthSettings, LLMProfile, PathsSettings, RetrievalSettings, Settings  # noqa: E402
from evaluation.served import served  # noqa: E402
from llms import ChatModels, estimate_tokens  # noqa: E402
from services.container import ServiceHub  # noqa: E402
from services.people import LOCAL_OPERATOR  # noqa: E402

DOCS = REPO / "data" / "sample"
WORK = REPO / ".ragchat" / "bench-auth"
PEOPLE, KNOWLEDGE_BASES = 20, 10
PASSWORD = "a benchmark password"
QUESTION = "什么是困惑度？"
REPLY = "困惑度是衡量语言模型的指标。"
CHAT = {
    "model": "local",
    "messages": [{"role": "user", "content": QUESTION}],
    "mode": "bm25",
    "translate": "off",
    "k": 4,
}


def main() -> None:
    args = _parse_args()
    off, on, key = _hubs()
    cases: dict[str, dict[str, list[float]]] = {
        case: {"off": [], "on": []} for case in ("list", "chat")
    }
    with served(create_app(off)) as off_url, served(create_app(on)) as on_url:
        clients = {
            "off": httpx.Client(base_url=off_url, timeout=60),
            "on": httpx.Client(base_url=on_url, timeout=60, headers=_bearer(key)),
        }
        for client in clients.values():  # warm: services built, connections open
            _per_request(client, "list", 20)
            _per_request(client, "chat", 20)
        for run in range(args.runs):
            for case in cases:
                for mode in ("off", "on") if run % 2 == 0 else ("on", "off"):
                    cases[case][mode].append(_per_request(clients[mode], case, args.requests))
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    sign_in = _sign_in_times(on)
    report = {
        "date": date.today().isoformat(),
        "machine": _machine(),
        "command": " ".join(["python", "bench/auth.py", *sys.argv[1:]]),
        "requests": args.requests,
        "runs": args.runs,
        "per_request_ms": {
            case: {mode: statistics.median(times) * 1e3 for mode, times in modes.items()}
            for case, modes in cases.items()
        },
        "runs_ms": {
            case: {mode: [t * 1e3 for t in times] for mode, times in modes.items()}
            for case, modes in cases.items()
        },
        "sign_in_ms": sign_in,
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "auth.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(_table(report))


def _hubs() -> tuple[ServiceHub, ServiceHub, str]:
    """The two hubs over one index and one set of knowledge bases, and the editor's key."""
    WORK.mkdir(parents=True, exist_ok=True)
    users = WORK / "users.sqlite3"
    users.unlink(missing_ok=True)
    for leftover in WORK.glob("users.sqlite3-*"):
        leftover.unlink()
    on = ServiceHub(_settings(users, auth=True), chat_models=_instant)
    accounts = on.accounts
    accounts.add_person(LOCAL_OPERATOR, "ada", "admin", PASSWORD)
    for number in range(1, PEOPLE):
        accounts.add_person(LOCAL_OPERATOR, f"person{number:02d}", "editor", PASSWORD)
    key = accounts.create_key(LOCAL_OPERATOR, "person01").key
    accounts.claim_unowned(on.knowledge_bases.names())
    kbs = on.knowledge_bases
    for number in range(KNOWLEDGE_BASES):
        name = f"kb{number:02d}"
        if name not in kbs.names():
            kbs.create(name)
        owner = accounts.person(f"person{number % (PEOPLE - 1) + 1:02d}")
        accounts.store.set_kb_owner(name, owner.id)
        accounts.share(owner, name, None, "read")
        accounts.share(owner, name, f"person{(number + 5) % (PEOPLE - 1) + 1:02d}", "write")
    on.ingest(on_message=lambda _: None)
    off = ServiceHub(_settings(WORK / "no-users-file.sqlite3", auth=False), chat_models=_instant)
    return off, on, key


def _settings(users: Path, auth: bool) -> Settings:
    paths = PathsSettings(
        documents=DOCS,
        index=WORK / "index",
        knowledge_bases=WORK / "knowledge_bases",
        history=WORK / "history.sqlite3",
        users=users,
    )
    retrieval = RetrievalSettings(rerank_top=0, translate_query="off")
    return Settings(paths=paths, retrieval=retrieval, auth=AuthSettings(enabled=auth))


def _instant(_profile: LLMProfile, _refusals: list[str]) -> ChatModels:
    """A chat model that answers REPLY at once, waiting in the local model's line."""

    def replies() -> Iterator[AIMessage]:
        while True:
            yield AIMessage(REPLY)

    llm = GenericFakeChatModel(messages=replies())
    return ChatModels(llm, llm, True, estimate_tokens, lambda _temperature: {})


def _per_request(client: httpx.Client, case: str, requests: int) -> float:
    """Mean seconds per request of `requests` requests of `case`, one after another."""
    call: Callable[[], httpx.Response] = (
        (lambda: client.get("/knowledge_bases"))
        if case == "list"
        else (lambda: client.post("/chat/completions", json=CHAT))
    )
    started = time.perf_counter()
    for _ in range(requests):
        response = call()
        if response.status_code != 200:
            raise RuntimeError(f"{case}: {response.status_code} {response.text[:300]}")
    return (time.perf_counter() - started) / requests


def _sign_in_times(hub: ServiceHub, sign_ins: int = 20, checks: int = 2000) -> dict[str, float]:
    accounts = hub.accounts
    key = accounts.create_key(LOCAL_OPERATOR, "person02").key
    sign_in, session, by_key = [], [], []
    for _ in range(sign_ins):
        started = time.perf_counter()
        token = accounts.sign_in("person02", PASSWORD)
        sign_in.append(time.perf_counter() - started)
    for _ in range(checks):
        started = time.perf_counter()
        accounts.session_person(token)
        session.append(time.perf_counter() - started)
        started = time.perf_counter()
        accounts.authenticate_key(key)
        by_key.append(time.perf_counter() - started)
    return {
        "sign_in": statistics.median(sign_in) * 1e3,
        "session_person": statistics.median(session) * 1e3,
        "authenticate_key": statistics.median(by_key) * 1e3,
    }


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _machine() -> str:
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}"


def _table(report: dict) -> str:
    per = report["per_request_ms"]
    runs = report["runs_ms"]
    lines = [
        f"Date {report['date']} · machine: {report['machine']} · command: `{report['command']}`",
        f"({report['requests']} requests per run, median of {report['runs']} runs)",
        "",
        "| request | auth off (ms) | auth on (ms) | on − off (ms) | runs off / on (ms) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    names = {"list": "`GET /v1/knowledge_bases`", "chat": "`POST /v1/chat/completions`"}
    for case, name in names.items():
        off, on = per[case]["off"], per[case]["on"]
        spread = (
            " ".join(f"{t:.2f}" for t in runs[case]["off"])
            + " / "
            + " ".join(f"{t:.2f}" for t in runs[case]["on"])
        )
        lines.append(f"| {name} | {off:.2f} | {on:.2f} | {on - off:+.2f} | {spread} |")
    sign = report["sign_in_ms"]
    lines += [
        "",
        "| step | median (ms) |",
        "| --- | ---: |",
        f"| sign in (`sign_in`: argon2 verify, a session row) | {sign['sign_in']:.1f} |",
        f"| session check (`session_person`, every page run) | {sign['session_person']:.3f} |",
        f"| key check (`authenticate_key`, every API request) | {sign['authenticate_key']:.3f} |",
    ]
    return "\n".join(lines)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per case and run")
    parser.add_argument("--runs", type=int, default=5, help="runs (the median is reported)")
    args = parser.parse_args()
    if args.requests < 1 or args.runs < 3:
        parser.error("--requests must be at least 1 and --runs at least 3")
    return args


if __name__ == "__main__":
    main()
