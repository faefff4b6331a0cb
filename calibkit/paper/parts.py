"""What a task hands the write-up: :class:`PaperPart` records (a figure, a table or files to copy) and its runs.

A task contributes its parts through one method of the Task interface,
``paper_parts(stores) -> list[PaperPart]``, given every run folder of the
write-up that it owns; :func:`calibkit.paper.write.write_paper` writes them
and records, per part, the run folders it came from. The helpers here are
what every task's parts need: a run's short label (:func:`run_labels`) and
whether it is a base or a chat model (:func:`role_of`), which fixes its colour.

Records and labels only: never draws, computes or writes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from calibkit.paper.tables import Table
from calibkit.runs.store import RunStore

KINDS = ("figure", "table", "files")


@dataclass(frozen=True)
class Attachment:
    """Files copied into the write-up as they are (a dataset built by ``calibkit idk build`` and its card)."""

    paths: tuple[Path, ...]  # files or folders to copy under data/<part name>/


@dataclass(frozen=True)
class PaperPart:
    """One figure, table or set of files of the write-up, with the run folders its numbers come from.

    Example:
        >>> from calibkit.paper.tables import Table
        >>> PaperPart("mmlu-accuracy", Table("mmlu-accuracy", ("model",), (("a",),)), runs=("runs/x",)).kind
        'table'
    """

    name: str  # file stem, unique in the write-up: figures/<name>.pdf, tables/<name>.tex, data/<name>/
    content: Any  # a matplotlib Figure (calibkit.paper.figures), a Table, or an Attachment
    runs: tuple[str, ...]  # the run folders behind it (provenance.json lists them per part)
    caption: str = ""  # a figure's caption (a table carries its own)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            raise ValueError(f"a part's name must be a file stem of letters, digits, '-', '_' or '.'; got {self.name!r}")
        self.kind  # noqa: B018 - refuse unknown content now, not when writing

    @property
    def kind(self) -> str:
        """``"figure"``, ``"table"`` or ``"files"``."""
        if isinstance(self.content, Table):
            return "table"
        if isinstance(self.content, Attachment):
            return "files"
        if hasattr(self.content, "savefig"):
            return "figure"
        raise ValueError(f"part {self.name!r}: content must be a matplotlib Figure, a Table or an Attachment; "
                         f"got {type(self.content).__name__}")


def role_of(config: Mapping[str, Any]) -> str:
    """``"chat"`` for a run scored in the chat form (config.json's ``chat_template``), else ``"base"``."""
    return "chat" if config.get("chat_template") else "base"


def run_labels(stores: Sequence[RunStore]) -> list[str]:
    """Each run's short label: its model's last path part; where two runs share it, with the form it was scored
    in (``base`` / ``chat``), and where that does not tell them apart either, with the folder's hash.

    Example:
        >>> class Run:  # a RunStore's config and path are all a label reads
        ...     def __init__(self, chat, folder): self.config, self.path = {"model": "hf/m", "chat_template": chat}, Path(folder)
        >>> run_labels([Run(False, "a"), Run(True, "b")]), run_labels([Run(False, "a"), Run(False, "b")])
        (['m (base)', 'm (chat)'], ['m [a]', 'm [b]'])
    """
    names = [model_name(s.config.get("model") or s.path.name) for s in stores]
    if len(set(names)) == len(names):
        return names
    with_role = [f"{n} ({role_of(s.config)})" for n, s in zip(names, stores)]
    if len(set(with_role)) == len(with_role):
        return with_role
    return [f"{n} [{s.path.name}]" for n, s in zip(names, stores)]


def model_name(model: object) -> str:
    """A model's short name: the last part of its path or hub id; each of a two-model run's (``"a/b + c/d"``).

    Example:
        >>> model_name("HuggingFaceTB/SmolLM2-135M-Instruct"), model_name("/m/base + /m/chat")
        ('SmolLM2-135M-Instruct', 'base + chat')
    """
    return " + ".join(Path(part.strip()).name for part in str(model).split(" + "))


def relabel(frame: Any, labels: Sequence[str], stores: Sequence[RunStore]) -> Any:
    """A comparison table whose ``run`` column holds a page's run labels, with :func:`run_labels`' short ones."""
    return frame.assign(run=frame["run"].map(dict(zip(labels, run_labels(stores)))))


def folders(stores: Sequence[RunStore]) -> tuple[str, ...]:
    """The run folders as a part records them."""
    return tuple(str(s.path) for s in stores)
