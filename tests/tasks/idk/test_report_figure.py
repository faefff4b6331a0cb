"""The pair-outcomes figure leaves room for its axis title and category labels (it had 10 px margins)."""
from calibkit.draw.style import MARGIN
from calibkit.tasks.idk.report import PAIR_OUTCOMES, pair_outcomes_figure


def test_pair_outcomes_figure_keeps_calibkits_margins():
    share = {"estimate": 0.5}
    summary = {"evasiveness": [{"category": "false_premise", "pairs": 4, **{k: share for k in PAIR_OUTCOMES}},
                               {"category": "private", "pairs": 0, **{k: None for k in PAIR_OUTCOMES}}]}
    fig = pair_outcomes_figure(summary)
    margin = fig.layout.margin
    assert margin.l >= MARGIN["l"] and margin.b >= MARGIN["b"]  # the x title and the labels fit
    assert fig.layout.xaxis.automargin and fig.layout.yaxis.automargin
    assert list(fig.data[0].y) == ["false_premise (4)"]  # categories without pairs are left out
