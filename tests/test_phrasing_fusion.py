"""Fusing the phrasings of a question (as asked, translated): each phrasing's lists by
reciprocal rank, then the phrasings: those of one weight are rivals (a passage keeps its best
one's score and a share of the others'), those of different weights add up
(`chains.retrieval.fuse_phrasings`; measured in docs/quality.md)."""

from __future__ import annotations

import pytest

from chains.retrieval import fuse_phrasings, reciprocal_rank_fusion

ASKED = [
    ("dense", 1.0, ["a1", "a2", "a3", "synopsis", "mixed"]),
    ("bm25", 1.5, ["a4", "a5", "mixed", "synopsis"]),
]
TRANSLATED = [
    ("dense", 1.0, ["answer", "t1", "synopsis", "mixed"]),
    ("bm25", 1.5, ["answer", "mixed", "synopsis"]),
]
"""A Chinese question finds a page's synopsis and a window mixing both languages at middling
ranks; its translation finds the English window holding the answer first, the two others next."""


def order(fused: list[tuple[str, float, dict[str, int]]]) -> list[str]:
    return [chunk_id for chunk_id, _, _ in fused]


def test_phrasings_that_add_up_are_one_fusion_of_all_their_lists():
    flat = reciprocal_rank_fusion(ASKED + TRANSLATED, 60)
    for groups, rivals_weight in [
        ([(1.0, ASKED), (1.0, TRANSLATED)], 1.0),
        ([(0.5, ASKED), (1.0, TRANSLATED)], 0.0),
    ]:
        fused = fuse_phrasings(groups, 60, rivals_weight)
        assert order(fused) == order(flat)
        assert [score for _, score, _ in fused] == pytest.approx([score for _, score, _ in flat])
        assert [ranks for _, _, ranks in fused] == [ranks for _, _, ranks in flat]


def test_of_rival_phrasings_a_passage_keeps_its_best_ones_score():
    """Added up, the windows both phrasings find at middling ranks come first; as rivals, the
    window the translation finds first does, with its best ranks in each retriever."""
    assert order(reciprocal_rank_fusion(ASKED + TRANSLATED, 60))[:2] == ["mixed", "synopsis"]
    rivals = fuse_phrasings([(1.0, ASKED), (1.0, TRANSLATED)], 60, rivals_weight=0.0)
    assert order(rivals)[0] == "answer"
    assert rivals[0][2] == {"dense": 1, "bm25": 1}
    best = dict(reciprocal_rank_fusion(TRANSLATED, 60)[i][:2] for i in range(3))
    assert rivals[0][1] == pytest.approx(best["answer"])
    shared = fuse_phrasings([(1.0, ASKED), (1.0, TRANSLATED)], 60, rivals_weight=0.5)
    scores = {chunk_id: score for chunk_id, score, _ in shared}
    asked = {chunk_id: score for chunk_id, score, _ in reciprocal_rank_fusion(ASKED, 60)}
    assert scores["mixed"] == pytest.approx(
        max(asked["mixed"], best["mixed"]) + 0.5 * min(asked["mixed"], best["mixed"])
    )


def test_one_phrasing_is_its_own_fusion():
    assert fuse_phrasings([(1.0, ASKED)], 60, 0.0) == reciprocal_rank_fusion(ASKED, 60)
