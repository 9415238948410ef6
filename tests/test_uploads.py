"""Upload names (app and API): whatever name a client sends, the file lands in the uploads
folder under a plain name, or is refused with the reason."""

from __future__ import annotations

import pytest

from loaders.uploads import MAX_NAME_CHARS, UploadError, safe_upload_name, upload_target


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("notes.md", "notes.md"),
        ("a/../../b.txt", "b.txt"),
        ("..\\..\\windows.md", "windows.md"),
        ("/etc/cron.d/job.txt", "job.txt"),
        ("..hidden.md", "hidden.md"),
        ("evil\x00.pdf.txt", "evil.pdf.txt"),
        ("invoice\u202etxt.md", "invoicetxt.md"),  # RTL override removed
        ("ｆｕｌｌ－ｗｉｄｔｈ.md", "full-width.md"),  # NFKC
        ("笔记 第一章.MD", "笔记 第一章.MD"),
    ],
)
def test_names_become_plain_file_names(sent, saved):
    assert safe_upload_name(sent) == saved


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("../../etc/passwd", "unsupported file type '(none)'"),
        (".bashrc", "unsupported file type '(none)'"),
        ("run.sh", "unsupported file type '.sh'"),
        ("...md", "unsupported file type '(none)'"),
        ("", "unsupported file type"),
    ],
)
def test_names_that_cannot_be_made_safe_are_refused(sent, reason):
    with pytest.raises(UploadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        safe_upload_name(sent)


def test_long_names_are_capped_keeping_the_suffix(tmp_path):
    name = safe_upload_name("长" * 300 + ".pdf")
    assert len(name) == MAX_NAME_CHARS and name.endswith(".pdf")
    target = upload_target(tmp_path, "../../" + "x" * 300 + ".md")
    assert target.parent == tmp_path / "uploads" and target.name.endswith(".md")
