"""``write_paper``: run folders in, the figures, tables and provenance a write-up needs out.

The command holds no list of tasks: the run folders are grouped by the task
that owns them (the registry, :func:`calibkit.runs.registry.task_of_run`),
and each task's ``paper_parts(stores) -> list[PaperPart]`` says what it
contributes (:mod:`calibkit.paper.parts`). The folders `calibkit sweep` and
`calibkit scale` write add their figures (:mod:`calibkit.paper.studies`).
What is written under ``out``::

    figures/<name>.pdf, .png   vector PDF and 300-dpi PNG at ACL width
    figures/<name>.tex         \\begin{figure} with \\includegraphics, caption and label
    tables/<name>.tex, .md, .csv
    data/<name>/               files a part copies as they are (a dataset and its card)
    tables/provenance.*        the appendix table of the runs
    provenance.json            each run's folder, hash, model, revision, command; each part's runs
    index.md                   every part, its files and caption
    paper.tex                  a two-column document that inputs every figure and table (a compile check,
                               and a start for the write-up)

Reads run folders; never loads a model.
"""
from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from calibkit.errors import UserError
from calibkit.paper.figures import save_figure
from calibkit.paper.parts import PaperPart, role_of
from calibkit.paper.provenance import appendix_table, provenance, write_provenance
from calibkit.paper.studies import study_folders, study_parts
from calibkit.paper.style import WIDTHS
from calibkit.paper.numbers import escape_latex
from calibkit.paper.tables import write_table
from calibkit.files import write_atomic
from calibkit.runs.store import CONFIG_FILE, RunStore


@dataclass(frozen=True)
class PaperIndex:
    """What :func:`write_paper` wrote."""

    out: Path  # the output folder
    files: dict[str, tuple[Path, ...]]  # part name -> the files written for it
    provenance: Path  # out/provenance.json
    unused: tuple[str, ...]  # run folders whose task contributed no part (said, not an error)


def write_paper(stores: Sequence[RunStore | str | Path], out: str | Path, *,
                parts_of: Callable[[Sequence[RunStore]], Sequence[PaperPart]] | None = None) -> PaperIndex:
    """Write every part the runs' tasks contribute, the provenance and an index into ``out``.

    Args:
        stores: run folders (``RunStore`` or paths), any mix of tasks; a folder that is not a run
            stands for every run folder below it (``runs/`` or ``runs/mmlu``), and for the sweep and
            scale folders in it or below it.
        out: the output folder (made if absent; files of the same names are replaced).
        parts_of: ``stores -> parts``; default :func:`task_parts` (each task's ``paper_parts``).

    Raises:
        UserError: no run folders, a path that holds none, or two parts of one name.
    """
    studies = study_folders([p for p in stores if not isinstance(p, RunStore)])
    runs = run_folders(stores, studies_only_ok=bool(studies))
    parts = [*((parts_of or task_parts)(runs) if runs else []), *(p for f in studies for p in study_parts(f))]
    names = [p.name for p in parts]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"two parts are named {', '.join(twice)}; a part's name must be unique in the write-up")
    out = Path(out)
    files = {part.name: tuple(write_part(part, out)) for part in parts}
    record = provenance(runs, {part.name: {"kind": part.kind, "runs": list(part.runs),
                                           "files": [str(p.relative_to(out)) for p in files[part.name]]}
                               for part in parts})
    files["provenance"] = tuple(write_table(appendix_table(record), out / "tables"))
    path = write_provenance(out, record)
    used = {folder for part in parts for folder in part.runs}
    write_atomic(out / "index.md", index_text(parts, files, out))
    write_atomic(out / "paper.tex", document_latex(parts))
    return PaperIndex(out=out, files=files, provenance=path,
                      unused=tuple(str(s.path) for s in runs if str(s.path) not in used))


def run_folders(paths: Sequence[RunStore | str | Path], *, studies_only_ok: bool = False) -> list[RunStore]:
    """The run folders named: a run folder itself, or every run folder below a folder that is not one (sorted).

    ``studies_only_ok``: a path may hold no run (a sweep or scale folder), and no run at all is no error.
    """
    runs: list[RunStore] = []
    for path in paths:
        if isinstance(path, RunStore):
            runs.append(path)
            continue
        path = Path(path)
        found = [path] if (path / CONFIG_FILE).is_file() else sorted(c.parent for c in path.rglob(CONFIG_FILE)
                                                                       if is_run_config(c))
        if not found and studies_only_ok and study_folders([path]):
            continue
        if not found:
            raise UserError(f"{path} holds no calibkit run folder (no {CONFIG_FILE} in it or below it); "
                            "pass the folders `calibkit run` wrote (runs/<task>/<model>/<hash>)")
        runs += [RunStore.open(f) for f in found]
    if not runs and not studies_only_ok:
        raise UserError("no run folders given; pass the folders `calibkit run` wrote (runs/<task>/<model>/<hash>)")
    return list({str(s.path.resolve()): s for s in runs}.values())  # a folder named twice is read once


def is_run_config(path: Path) -> bool:
    """Whether a config.json found below a folder is a calibkit run's (a model folder's config.json is not)."""
    import json

    try:
        return "task" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def task_parts(stores: Sequence[RunStore]) -> list[PaperPart]:
    """Each task's ``paper_parts`` on the run folders it owns, tasks in the order their first run was given.

    Within a task, runs that share items are read together (:func:`sharing_groups`; runs of other data make
    parts of their own, their names numbered from the second group on), runs scored in the base form first
    (each part compares later runs with the first). A task whose ``paper_parts`` returns none (the Task
    interface's default) contributes nothing; its runs are listed as unused.
    """
    from calibkit.runs.registry import task_of_run

    groups: dict[object, list[RunStore]] = defaultdict(list)
    for store in stores:
        groups[task_of_run(store.config, where=store.path)].append(store)
    parts: list[PaperPart] = []
    for task, owned in groups.items():
        for k, group in enumerate(sharing_groups(owned), start=1):
            # base-form runs before chat-form ones (order kept otherwise): a difference reads chat - base
            made = task.paper_parts(sorted(group, key=lambda s: role_of(s.config) == "chat"))
            parts += [numbered(part, k) for part in made]
    return parts


def sharing_groups(stores: Sequence[RunStore]) -> list[list[RunStore]]:
    """The runs split into groups that share items (connected by any shared item id), in the order given."""
    ids = [{row["id"] for row in store.rows()} for store in stores]
    group = list(range(len(stores)))  # union-find over runs: each run's group, by its first run
    for i in range(len(stores)):
        for j in range(i):
            if ids[i] & ids[j]:
                root_i, root_j = _root(group, i), _root(group, j)
                group[max(root_i, root_j)] = min(root_i, root_j)
    out: dict[int, list[RunStore]] = defaultdict(list)
    for i, store in enumerate(stores):
        out[_root(group, i)].append(store)
    return list(out.values())


def _root(group: list[int], i: int) -> int:
    while group[i] != i:
        i = group[i]
    return i


def numbered(part: PaperPart, k: int) -> PaperPart:
    """``part`` of a task's k-th group of runs: its name (and its table's file stem) suffixed from k = 2 on."""
    if k == 1:
        return part
    name = f"{part.name}-{k}"
    content = replace(part.content, name=name) if part.kind == "table" else part.content
    return replace(part, name=name, content=content)


def write_part(part: PaperPart, out: Path) -> list[Path]:
    """One part's files: a figure as PDF, PNG and its LaTeX float; a table as .tex/.md/.csv; files copied."""
    if part.kind == "table":
        return write_table(part.content, out / "tables")
    if part.kind == "files":
        return copy_files(part, out / "data" / part.name)
    paths = save_figure(part.content, out / "figures" / part.name)
    tex = out / "figures" / f"{part.name}.tex"
    write_atomic(tex, figure_latex(part, wide=part.content.get_figwidth() > WIDTHS["column"] * 1.01))
    return [*paths, tex]


def figure_latex(part: PaperPart, *, wide: bool) -> str:
    """The LaTeX float that includes a figure's PDF at its width (``figure*`` across both columns when wide)."""
    env, width = ("figure*", "\\textwidth") if wide else ("figure", "\\columnwidth")
    lines = [f"\\begin{{{env}}}[t]", "\\centering", f"\\includegraphics[width={width}]{{figures/{part.name}.pdf}}"]
    if part.caption:
        lines.append(f"\\caption{{{escape_latex(part.caption)}}}")
    lines += [f"\\label{{fig:{part.name}}}", f"\\end{{{env}}}"]
    return "\n".join(lines) + "\n"


def copy_files(part: PaperPart, folder: Path) -> list[Path]:
    """Copy an attachment's files and folders into ``folder``; a missing one is a one-line error."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in part.content.paths:
        source = Path(source)
        if not source.exists():
            raise UserError(f"part {part.name!r}: {source} does not exist; pass the folder `calibkit idk build` wrote")
        target = folder / source.name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        written.append(target)
    return written


def document_latex(parts: Sequence[PaperPart]) -> str:
    """paper.tex: every figure and table of the write-up, then the provenance appendix, in a two-column article.

    Needs only booktabs and graphicx (any TeX installation); the ACL template takes the same ``\\input`` lines.
    """
    inputs = [f"\\input{{{'tables' if p.kind == 'table' else 'figures'}/{p.name}.tex}}" for p in parts
              if p.kind != "files"]
    return "\n".join(["\\documentclass[twocolumn,11pt]{article}", "\\usepackage[T1]{fontenc}",
                      # ACL's page: 16 cm of text in two 7.7 cm columns, so what overflows there overflows here
                      "\\usepackage[a4paper,textwidth=16cm,textheight=24.7cm,columnsep=0.6cm]{geometry}",
                      "\\usepackage{booktabs}", "\\usepackage{graphicx}", "\\begin{document}", *inputs,
                      "\\clearpage", "\\appendix", "\\input{tables/provenance.tex}", "\\end{document}"]) + "\n"


def index_text(parts: Sequence[PaperPart], files: dict[str, tuple[Path, ...]], out: Path) -> str:
    """index.md: each part with its files and caption, then the provenance."""
    lines = ["# Figures and tables", "", "Written by `calibkit paper`; provenance.json lists the runs of each file.", ""]
    for part in parts:
        caption = part.caption or getattr(part.content, "caption", "")
        names = ", ".join(f"`{p.relative_to(out)}`" for p in files[part.name])
        lines += [f"- **{part.name}** ({part.kind}): {names}" + (f". {caption}" if caption else "")]
    lines += ["", "Appendix: `tables/provenance.tex` (the runs, their config hashes, models and command lines).",
              "`paper.tex` inputs every figure and table (`pdflatex paper.tex` checks that they compile)."]
    return "\n".join(lines) + "\n"
