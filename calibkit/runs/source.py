"""Where a run came from: the command line that made it and calibkit's git commit.

Recorded in config.json beside the versions (``command``; ``versions.calibkit_commit``),
never part of the config hash (``calibkit.runs.store``'s unhashed keys): the same
settings typed another way, or run from another commit, resume the same run.
The command line interface sets :data:`COMMAND_LINE` for the command it runs;
a run made through the API records the ``command`` its :class:`~calibkit.runs.runner.RunSettings`
names, or none. Reads git's HEAD; imports neither the engine nor torch.
"""
from __future__ import annotations

import contextvars
import shlex
import subprocess
from pathlib import Path
from typing import Sequence

#: the command line being run (``("calibkit", "run", "mmlu", ...)``), set by ``calibkit.cli.main``
COMMAND_LINE: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("calibkit_command", default=None)


def command_text(command: Sequence[str] | None) -> str | None:
    """A command line as one shell-quoted string (``shlex.join``), or None where there is none.

    Example:
        >>> command_text(("calibkit", "run", "mmlu", "--subjects", "high school biology"))
        "calibkit run mmlu --subjects 'high school biology'"
    """
    return None if command is None else shlex.join(str(a) for a in command)


def calibkit_commit() -> tuple[str | None, bool | None]:
    """calibkit's git commit and whether the checkout has uncommitted edits, where calibkit is imported from a
    checkout of its own; ``(None, None)`` for an installed package (inside someone else's repository too)."""
    package = Path(__file__).resolve().parents[1]  # .../calibkit
    top = git(package, "rev-parse", "--show-toplevel")
    if not top or (Path(top).resolve() / "calibkit") != package:
        return None, None
    commit = git(package, "rev-parse", "HEAD")
    return commit, None if commit is None else bool(git(package, "status", "--porcelain", "--untracked-files=no"))


def git(where: Path, *args: str) -> str | None:
    """A git command's output in ``where``'s repository, or None (no git, not a checkout, a slow disk)."""
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
