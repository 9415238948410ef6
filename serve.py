"""`python serve.py`: ragchat as an OpenAI-compatible HTTP API, for scripts, other apps and
any OpenAI client.

    python serve.py [--host 127.0.0.1] [--port 8000] [--config FILE]

`POST /v1/chat/completions` answers from the documents (the model name is a profile name,
`GET /v1/models` lists them; answers carry their `sources`), `GET/POST/DELETE /v1/files`
manage the knowledge base, `GET /health` says whether an index is there, `GET /metrics` is for
Prometheus; requests and answers are traced as `[tracing]` says (docs/guides/observability.md).

With `[auth] enabled = true`, each client sends its person's own key (`python users.py key
NAME`) and reaches only what that person may; the API may then listen beyond this machine.
Without auth, keys come from `api.keys` (or RAGCHAT_API__KEYS='["key"]') and every client acts
as the local operator; with no keys, it listens on loopback only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import load_settings
from errors import RagchatError
from services.exposure import exposure_problem


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
    except RagchatError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    problem = exposure_problem(
        host,
        bool(settings.api.keys) or settings.auth.enabled,
        "the API",
        "Turn on [auth] (people's own keys), set api.keys "
        "(RAGCHAT_API__KEYS='[\"a-long-random-key\"]'), or listen on 127.0.0.1",
    )
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    import uvicorn

    from api.app import create_app
    from api.observability import observe
    from observability.tracing import configure_tracing
    from services.container import ServiceHub

    if settings.auth.enabled:
        keys = "people's API keys (auth on; api.keys unused)"
    else:
        keys = "API keys required" if settings.api.keys else "no API key (loopback only)"
    configure_tracing(settings.tracing)
    try:
        hub = ServiceHub(settings)
        app = create_app(hub)
    except RagchatError as err:  # the accounts file cannot be read
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    observe(app, hub)
    print(
        f"ragchat API on http://{host}:{port}/v1 (MCP at /mcp) · {keys} · profiles: "
        f"{', '.join(settings.llm.profiles)}",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("--host", help="address to listen on (default: api.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: api.port, 8000)")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
