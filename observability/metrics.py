"""The Prometheus metrics an operator scrapes from `serve.py`'s `GET /metrics`
(docs/guides/observability.md). They live in prometheus-client's default registry, recorded
where the work happens (answers, ingests, requests) in every process; only the API serves them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)

REQUESTS = Counter(
    "ragchat_http_requests",
    "HTTP requests answered, by method, route and status code (4xx and 5xx are errors).",
    ["method", "route", "code"],
)
REQUEST_SECONDS = Histogram(
    "ragchat_http_request_seconds",
    "Time to answer an HTTP request (to the first byte of a streamed one), by route.",
    ["method", "route"],
    buckets=_SECONDS,
)
QUEUE_LENGTH = Gauge(
    "ragchat_model_queue_length", "Requests in the local model's line, the one served included."
)
QUEUE_WAIT_SECONDS = Histogram(
    "ragchat_model_queue_wait_seconds",
    "Time an answer waited for the local model's seat, by profile.",
    ["profile"],
    buckets=_SECONDS,
)
FIRST_TOKEN_SECONDS = Histogram(
    "ragchat_answer_first_token_seconds",
    "Time from the question to the answer's first shown text (TTFT), by profile.",
    ["profile"],
    buckets=_SECONDS,
)
ANSWER_SECONDS = Histogram(
    "ragchat_answer_seconds",
    "Time to a finished answer, by profile.",
    ["profile"],
    buckets=_SECONDS,
)
ANSWERS = Counter(
    "ragchat_answers",
    "Answers given, by profile and error code ('' for none).",
    ["profile", "error"],
)
TOKENS_PER_SECOND = Histogram(
    "ragchat_generation_tokens_per_second",
    "The model's generation speed for an answer (completion tokens / generation time after "
    "the first token), by profile.",
    ["profile"],
    buckets=(1, 2, 5, 10, 15, 20, 30, 50, 100, 200),
)
RETRIEVAL_SECONDS = Histogram(
    "ragchat_retrieval_seconds",
    "Time to find a question's passages (translation, searches, fusion, rerank).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INGESTED_FILES = Counter(
    "ragchat_ingest_files", "Files seen by ingests, by outcome (added, updated, ...).", ["status"]
)
INGESTED_CHUNKS = Counter("ragchat_ingest_chunks", "Chunks embedded by ingests.")


def record_answer(
    profile: str, error_code: str, timings: dict[str, float], tokens_per_second: float | None
) -> None:
    """An answer's outcome and times (`services.answering.Answer.timings`)."""
    ANSWERS.labels(profile, error_code).inc()
    ANSWER_SECONDS.labels(profile).observe(timings["total_s"])
    QUEUE_WAIT_SECONDS.labels(profile).observe(timings.get("queued_s", 0.0))
    if "first_token_s" in timings:
        FIRST_TOKEN_SECONDS.labels(profile).observe(timings["first_token_s"])
    if tokens_per_second is not None:
        TOKENS_PER_SECOND.labels(profile).observe(tokens_per_second)
