"""Where an answer's time went, shown under it: its stages (`Answer.stages`, named as its
trace's spans) as a small table with a bar each, so a slow answer explains itself without a
collector."""

from __future__ import annotations

import streamlit as st

from i18n import N_, _
from services.answering import Answer

STAGE_NAMES = {
    "queue": N_("waiting for the model"),
    "rewrite": N_("rewriting the question"),
    "translate": N_("translating the question"),
    "filter": N_("filters"),
    "dense": N_("vector search"),
    "bm25": N_("keyword search"),
    "fusion": N_("fusing the rankings"),
    "rerank": N_("reranking"),
    "prompt": N_("building the prompt"),
    "generate": N_("generating the answer"),
    "citations": N_("checking citations"),
}
"""What each stage (its span's name) is called on screen."""


def show_time_breakdown(answer: Answer) -> None:
    """An expander titled with the answer's total time, listing its stages in order."""
    total = answer.timings.get("total_s", 0.0)
    if not answer.stages or total <= 0:
        return
    stage, seconds_column, share = _("Stage"), _("Seconds"), _("Share of the time")
    with st.expander(_("Time: {seconds} s").format(seconds=f"{total:.2f}")):
        st.dataframe(
            [
                {
                    stage: _(STAGE_NAMES[name]) if name in STAGE_NAMES else name,
                    seconds_column: round(seconds, 3),
                    share: seconds / total,
                }
                for name, seconds in answer.stages
            ],
            column_config={
                share: st.column_config.ProgressColumn(
                    share, format="percent", min_value=0.0, max_value=1.0
                )
            },
            hide_index=True,
            width="stretch",
        )
