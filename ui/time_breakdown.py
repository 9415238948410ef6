"""Where an answer's time went, shown under it: its stages (`Answer.stages`, the same as its
trace's spans) as a small table with a bar each, so a slow answer explains itself without a
collector."""

from __future__ import annotations

import streamlit as st

from services.answering import Answer


def show_time_breakdown(answer: Answer) -> None:
    """An expander titled with the answer's total time, listing its stages in order."""
    total = answer.timings.get("total_s", 0.0)
    if not answer.stages or total <= 0:
        return
    with st.expander(f"Time: {total:.2f} s"):
        st.dataframe(
            [
                {"Stage": name, "Seconds": round(seconds, 3), "Share": seconds / total}
                for name, seconds in answer.stages
            ],
            column_config={
                "Share": st.column_config.ProgressColumn(
                    "Share", format="percent", min_value=0.0, max_value=1.0
                )
            },
            hide_index=True,
            width="stretch",
        )
