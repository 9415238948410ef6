"""Chinese PDFs for the viewer's tests and the documentation's screenshot: fpdf2 with the simplified
Chinese face of Debian's Noto Sans CJK (fonts-noto-cjk)."""

from __future__ import annotations

from pathlib import Path

import pytest

FONTS = Path("/usr/share/fonts")
TRAINING_NOTES = [
    [
        "训练技巧笔记",
        "梯度裁剪是训练深度网络时防止梯度爆炸的常用方法。它在每一步更新之前检查梯度的范数，"
        "如果范数超过设定的阈值，就按比例把梯度缩小到阈值以内。这样参数更新的幅度受到限制，"
        "训练过程更加稳定。",
        "学习率预热在训练开始的若干步里让学习率从很小的值逐渐增大。刚开始时参数是随机的，"
        "过大的学习率容易让训练发散，预热可以避免这个问题。",
    ],
    [
        "权重衰减在损失函数中加入参数范数的惩罚项，使模型更倾向于较小的权重，从而减轻过拟合。"
        "在 Adam 这类自适应优化器中，解耦的权重衰减（AdamW）比直接加在损失上的效果更好。",
    ],
]
"""Two pages of notes on topics the sample notes do not cover."""


def cjk_font() -> tuple[Path, int]:
    """Noto Sans CJK and the index of its simplified Chinese face; skips the test without it."""
    from fontTools.ttLib import TTCollection

    for path in sorted(FONTS.rglob("NotoSansCJK-Regular.tt[cf]")):
        names = [font["name"].getDebugName(4) for font in TTCollection(str(path)).fonts]
        return path, next(n for n, name in enumerate(names) if name.endswith(" SC"))
    pytest.skip("no Noto Sans CJK font (apt-get install fonts-noto-cjk, or make browser)")


def write_cjk_pdf(path: Path, pages: list[list[str]] = TRAINING_NOTES) -> Path:
    """A PDF with one page per item of `pages`, each a list of paragraphs."""
    from fpdf import FPDF

    font, face = cjk_font()
    pdf = FPDF()
    pdf.add_font("noto-sc", fname=str(font), collection_font_number=face)
    pdf.set_font("noto-sc", size=14)
    for paragraphs in pages:
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 9, text=paragraph)
            pdf.ln(5)
    pdf.output(str(path))
    return path
