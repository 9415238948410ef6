"""Notes the tests write for a second knowledge base: optics, which the sample notes (machine
learning) never mention, so a question answered in one must not find the other."""

from __future__ import annotations

from pathlib import Path

OPTICS = {
    "optics.md": "# 光学笔记\n\n折射率是光在真空中的速度与光在介质中的速度之比。"
    "凸透镜的焦距决定成像的位置。全反射只在光从光密介质射向光疏介质时发生。\n",
    "waves.txt": "Waves carry energy without carrying matter. The wavelength is the distance "
    "between two crests; frequency times wavelength gives the speed of the wave.\n",
}
QUESTION = "什么是困惑度？"  # answered by the sample notes, not by the optics notes


def write_optics(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in OPTICS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
