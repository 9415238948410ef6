"""Upload names (app and API): whatever name a client sends, the file lands in the uploads
folder under a plain name, or is refused with the reason."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from loaders.uploads import (
    MAX_NAME_BYTES,
    UploadError,
    UploadTooLarge,
    safe_upload_name,
    save_upload,
)

LIMIT = 1_000_000


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


def test_long_names_are_capped_in_bytes_keeping_the_suffix(tmp_path):
    name = safe_upload_name("长" * 300 + ".pdf")
    assert len(name.encode()) <= MAX_NAME_BYTES and name.endswith(".pdf")
    assert name == "长" * ((MAX_NAME_BYTES - 4) // 3) + ".pdf"  # no character cut in half
    target, new = save_upload(tmp_path, "../../" + "笔" * 300 + ".md", b"x", LIMIT)
    assert new and target.parent == tmp_path / "uploads" and target.read_bytes() == b"x"


def test_a_name_already_taken_gets_a_suffix_and_nothing_is_overwritten(tmp_path):
    first, _ = save_upload(tmp_path, "notes.md", b"first", LIMIT)
    second, new = save_upload(tmp_path, "dir/notes.md", b"second", LIMIT)
    third, _ = save_upload(tmp_path, "notes.md", b"third", LIMIT)
    assert new and [p.name for p in (first, second, third)] == [
        "notes.md",
        "notes-2.md",
        "notes-3.md",
    ]
    assert [p.read_bytes() for p in (first, second, third)] == [b"first", b"second", b"third"]


def test_the_same_bytes_again_are_the_same_upload(tmp_path):
    first, _ = save_upload(tmp_path, "notes.md", b"same", LIMIT)
    again, new = save_upload(tmp_path, "notes.md", b"same", LIMIT)
    assert again == first and not new
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["notes.md"]


def test_uploads_of_one_name_at_once_each_get_their_own_file(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        saved = list(pool.map(lambda n: save_upload(tmp_path, "a.txt", b"%d" % n, LIMIT), range(8)))
    paths = [path for path, _ in saved]
    assert len(set(paths)) == 8
    assert sorted(int(p.read_bytes()) for p in paths) == list(range(8))


def test_an_upload_over_the_limit_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(UploadTooLarge, match=r"big.txt: larger than the upload limit \(1 MB\)"):
        save_upload(tmp_path, "big.txt", b"x" * (LIMIT + 1), LIMIT)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_an_uploads_folder_that_leads_outside_is_not_written(tmp_path):
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    docs.mkdir(), outside.mkdir()
    (docs / "uploads").symlink_to(outside)
    with pytest.raises(UploadError, match="leads outside the documents folder"):
        save_upload(docs, "notes.md", b"x", LIMIT)
    assert not any(outside.iterdir())
