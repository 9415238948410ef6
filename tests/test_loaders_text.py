"""The text formats (plain text and Markdown in any encoding, HTML), Unicode normalization, and
what every reader refuses: unreadable content and unsupported suffixes."""

import pytest

from loaders import LoaderError, load_document
from text.normalize import normalize_text

CHINESE = "注意力机制让模型关注输入中最相关的部分。\n\n这是第二段。"


def test_utf8_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(CHINESE, encoding="utf-8")
    assert load_document(path, "a.txt").page_content == CHINESE


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_chinese_in_other_encodings_is_decoded(tmp_path, encoding):
    path = tmp_path / "notes.md"
    path.write_bytes(CHINESE.encode(encoding))
    assert load_document(path, "notes.md").page_content == CHINESE


def test_latin1_text_is_detected(tmp_path):
    path = tmp_path / "fr.txt"
    french = (
        "Le modèle de langue attribue une probabilité à chaque séquence de mots. Les élèves "
        "étudient le lissage de Laplace, qui ajoute un à chaque compte; c'est très simple mais "
        "souvent trop généreux pour les événements rares. À la fin, on compare la perplexité."
    )
    path.write_bytes(french.encode("cp1252"))
    assert load_document(path, "fr.txt").page_content == french


def test_kangxi_radicals_and_full_width_forms_are_normalized():
    assert normalize_text("⽅法\u2f45") == "方法方"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text("很⻓一段时间，专⻔从⻆度看") == "很长一段时间,专门从角度看"


def test_whitespace_cleanup_keeps_paragraphs():
    raw = "第一段  有\t空格 \r\n继续\n\n\n\n第二段\u200b结束  "
    assert normalize_text(raw) == "第一段 有 空格\n继续\n\n第二段结束"


def test_html_keeps_visible_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p{color:red}</style></head>"
        "<body><script>alert('x')</script><h1>标题</h1><p>正文 <b>加粗</b></p></body></html>",
        encoding="utf-8",
    )
    text = load_document(path, "page.html").page_content
    assert "标题" in text and "正文" in text and "加粗" in text
    assert "alert" not in text and "color" not in text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage", "PDF"),
        ("broken.docx", b"not a zip file at all", "Word document"),
        ("image.txt", bytes(range(256)) * 40, "binary"),
        ("empty.md", b"", "no text"),
        ("blank.txt", b" \n\n\t \n", "no text"),
    ],
)
def test_unreadable_content_is_a_clear_error(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoaderError, match=reason):
        load_document(path, name)


def test_unsupported_suffix_lists_the_supported(tmp_path):
    path = tmp_path / "notes.odt"
    path.write_bytes(b"PK")
    with pytest.raises(LoaderError, match=r"unsupported file type '.odt'; supported: .csv, .docx"):
        load_document(path, "notes.odt")
