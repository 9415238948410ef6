"""`GET /metrics` on real parts: the API as serve.py builds it (uvicorn on 127.0.0.1, a real
index by the real embedder, the official `openai` client), with a fake chat model through the
hub's `chat_models=` seam; the text is read by prometheus-client's own parser."""

from __future__ import annotations

import shutil

import httpx
import openai
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.observability import observe
from config import ApiSettings, PathsSettings, Settings
from evaluation.served import served
from services.container import ServiceHub
from tests.support.fakes import fake_models
from tests.support.paths import SAMPLE_DIR
from tests.support.people_api import building
from tests.support.processes import KEY

ANSWER = "困惑度为 100 的模型，在每个位置上好像要从 100 个等可能的词里做选择 [1]。"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API behind `KEY` over two sample notes; the ingest's file count before it ran."""
    folder = tmp_path_factory.mktemp("metrics")
    docs = folder / "docs"
    docs.mkdir()
    for name in ("ngram-language-models.md", "smoothing.md"):
        shutil.copy(SAMPLE_DIR / name, docs / name)
    paths = PathsSettings(documents=docs, index=folder / "index", history=folder / "h.sqlite3")
    settings = Settings(paths=paths, api=ApiSettings(keys=[KEY]))
    hub = ServiceHub(settings, chat_models=building(fake_models([ANSWER])))
    added = REGISTRY.get_sample_value("ragchat_ingest_files_total", {"status": "added"}) or 0.0
    hub.ingest(on_message=lambda _: None)
    app = create_app(hub)
    observe(app, hub)
    with served(app) as base_url:
        yield base_url, added


def scrape(base_url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of `/metrics`, by name and labels."""
    response = httpx.get(base_url.removesuffix("/v1") + "/metrics", headers=_key())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _key() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_answers_ttft_and_ingest_show_in_metrics(api):
    base_url, added_before = api
    before = scrape(base_url)
    client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=60)
    for _ in range(2):
        reply = client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "困惑度为 100 是什么意思？"}]
        )
        assert "困惑度" in reply.choices[0].message.content
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "?"}])
    after = scrape(base_url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "ragchat_http_requests_total"
    assert moved(requests, method="POST", route=CHAT, code="200") == 2
    assert moved(requests, method="POST", route=CHAT, code="404") == 1
    assert moved(requests, method="GET", route="/metrics", code="200") == 1
    ttft = "ragchat_answer_first_token_seconds"
    assert moved(f"{ttft}_count", profile="local") == 2
    assert 0 < moved(f"{ttft}_sum", profile="local") < 10
    assert moved(f"{ttft}_bucket", profile="local", le="+Inf") == 2
    assert moved("ragchat_answers_total", profile="local", error="") == 2
    assert moved("ragchat_answer_seconds_count", profile="local") == 2
    assert moved("ragchat_retrieval_seconds_count") == 2
    assert moved("ragchat_generation_tokens_per_second_count", profile="local") == 2
    assert value(after, "ragchat_model_queue_length") == 0
    assert value(after, "ragchat_ingest_files_total", status="added") == added_before + 2
    assert value(after, "ragchat_ingest_chunks_total") >= 2


def test_metrics_need_the_key_when_keys_are_set(api):
    base_url, _ = api
    url = base_url.removesuffix("/v1") + "/metrics"
    refused = httpx.get(url)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, headers=_key()).status_code == 200
    unknown = scrape(base_url)
    httpx.get(base_url.removesuffix("/v1") + "/no/such/path", headers=_key())
    counted = scrape(base_url)
    route = {"method": "GET", "route": "unmatched", "code": "404"}
    assert value(counted, "ragchat_http_requests_total", **route) == (
        value(unknown, "ragchat_http_requests_total", **route) + 1
    )
