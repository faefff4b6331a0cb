"""`calibkit compare` of runs whose study pairs them item by item (P(IK), the abstention benchmark).

Their study's ``compare_runs`` returns the paired table
(:func:`calibkit.stats.comparison.paired_comparison`) with the runs'
labels and the number of shared items; :func:`paired_outcome` writes it as
the comparison page, the terminal text and the JSON, with the words
(:class:`ComparisonWords`) each task gives it; :class:`PairedComparing`
gives a task its ``compare`` and the write-up's table from them.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # the task modules import this one at start-up: pandas (tasks.reporting) only when comparing
    from calibkit.runs.store import RunStore
    from calibkit.runs.task import Outcome


@dataclass(frozen=True)
class ComparisonWords:
    """What a task's comparison page says around the table."""

    title: str  # the page title
    heading: str  # the table's heading
    items: str  # what the runs share, plural ("held-out questions", "rows")
    unit: str  # what the differences are paired over, plural ("questions", "rows")
    details: str  # the intro after its first sentence: what the table's rows are
    part: str  # the write-up's part name ("pik-comparison")
    part_caption: str  # what its table shows, before " on <n> shared <items>."
    drop: Sequence[str] = ()  # table columns the page, the text and the write-up leave out


def paired_outcome(comparison: Any, *, out: Path, words: ComparisonWords) -> Outcome:
    """A study's comparison (``table``, ``labels``, ``n_items``, ``to_json()``, and ``headline`` where its table
    leads with the headline metric) as the page at ``out``, the text and the JSON ``compare`` prints."""
    from calibkit.tasks.reporting import comparison_caption, comparison_outcome

    headline = bool(getattr(comparison, "headline", False))
    intro = (f"{comparison.n_items} {words.items} all runs share; differences are each run minus the first, paired "
             f"over {words.unit}. {words.details}")
    return comparison_outcome(comparison.table, comparison.labels, comparison.n_items, out=out, title=words.title,
                              heading=words.heading, what=f"shared {words.items}",
                              caption=comparison_caption(what=words.unit, headline=headline), intro=intro,
                              json=comparison.to_json(), headline=headline, drop=list(words.drop))


@dataclass(frozen=True)
class Comparing:
    """How a task compares its runs: its study's ``compare_runs(stores, *, n_resamples)`` and the page's words."""

    compare_runs: Callable[..., Any]
    words: ComparisonWords


class PairedComparing:
    """``compare`` and the write-up's comparison part from the task's :meth:`comparing` (mix in before the task
    base), as :class:`calibkit.tasks.base.OwnReading` gives the reading; the method imports the study lazily::

        def comparing(self) -> Comparing:
            from .study import compare_runs

            return Comparing(compare_runs, COMPARISON)
    """

    @abstractmethod
    def comparing(self) -> Comparing:
        """The task's study comparison and its words."""

    def compare(self, stores: Sequence[RunStore], *, out: Path, n_resamples: int = 1000) -> Outcome:
        c = self.comparing()
        return paired_outcome(c.compare_runs(stores, n_resamples=n_resamples), out=out, words=c.words)

    def comparison_part(self, stores: Sequence[RunStore]) -> Any:
        """The write-up's table (:class:`calibkit.paper.PaperPart` named ``words.part``): the comparison as
        ``compare`` pairs it, captioned ``"<words.part_caption> on <n> shared <words.items>."``."""
        from calibkit.paper import PaperPart, comparison_table
        from calibkit.paper.parts import folders

        c = self.comparing()
        comparison = c.compare_runs(stores)
        table = comparison.table.drop(columns=list(c.words.drop)) if c.words.drop else comparison.table
        caption = f"{c.words.part_caption} on {comparison.n_items} shared {c.words.items}."
        return PaperPart(c.words.part, comparison_table(table, name=c.words.part, caption=caption), folders(stores))
