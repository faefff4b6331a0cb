"""docs/METHODS.md names only options and test files that exist.

Every ``--flag`` a section names must be an option of a command that section
names in backticks (`calibkit run <task>`, `calibkit <command>`), or of any
calibkit command when the section names none; every ``tests/...py`` file and
``tests/fixtures/...`` path it names must exist. The commands are built
from the registry and introspected as click objects: no model is loaded.
Flags with an underscore (lm-eval's ``--apply_chat_template``, the Nudging
authors' ``--completion_token_num``) are other programs' and never match.
"""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "METHODS.md"

# a calibkit-style flag: lower-case words joined by hyphens, not followed by a word character or "_"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?![\w-])")
RUN_COMMAND = re.compile(r"`calibkit run ([a-z_-]+)")
TOP_COMMAND = re.compile(r"`calibkit ([a-z][a-z-]*(?: build)?)")
TEST_PATH = re.compile(r"tests/[\w/.-]+?\.(?:py|json|jsonl|txt|tsv)\b|tests/fixtures/[\w/.-]+/")
ALWAYS = {"--help", "--version"}


def _commands() -> dict[str, click.Command]:
    """Every calibkit command by its full name ("run mmlu", "sweep", "idk build"), without loading a model."""
    from calibkit.cli import cli

    out: dict[str, click.Command] = {}

    def walk(cmd: click.Command, path: tuple[str, ...], ctx: click.Context) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                walk(sub, (*path, name), click.Context(sub, parent=ctx, info_name=name))
        else:
            out[" ".join(path)] = cmd

    walk(cli, (), click.Context(cli))
    return out


def _flags(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of the page's head and of each "## " section, code blocks included."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return [("(head)", parts[0]), *zip(parts[1::2], parts[2::2])]


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def commands() -> dict[str, click.Command]:
    return _commands()


def _named_commands(body: str, commands: dict[str, click.Command]) -> list[str]:
    named = {f"run {t}" for t in RUN_COMMAND.findall(body)}
    named |= {c for c in TOP_COMMAND.findall(body) if c in commands}
    return sorted(n for n in named if n in commands)


def test_every_flag_exists_on_the_commands_its_section_names(doc, commands):
    every = set().union(*(_flags(c) for c in commands.values())) | ALWAYS
    missing = []
    for heading, body in _sections(doc):
        named = _named_commands(body, commands)
        allowed = set().union(*(_flags(commands[n]) for n in named)) | ALWAYS if named else every
        missing += [f"{heading}: {flag} (not an option of {', '.join(named) or 'any command'})"
                    for flag in sorted(set(FLAG.findall(body))) if flag not in allowed]
    assert not missing, "\n".join(missing)


def test_every_named_run_command_exists(doc, commands):
    unknown = sorted({t for t in RUN_COMMAND.findall(doc) if f"run {t}" not in commands})
    assert not unknown, unknown


def test_every_named_test_file_exists(doc):
    paths = sorted(set(TEST_PATH.findall(doc)))
    assert len(paths) >= 30  # the page names the tests of every section
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, missing


def test_flag_pattern_skips_other_programs_flags():
    text = "lm-eval's `--apply_chat_template`, run_api.py's `--completion_token_num 16`; ours: `--stop-rule first`"
    assert FLAG.findall(text) == ["--stop-rule"]


def test_every_section_has_the_same_parts(doc):
    parts = ("**Source.**", "**Reference code.**", "**Prompt.**", "**Compared.**", "**Default vs flags.**",
             "**Departures.**", "**Tested by.**")
    sections = [(h, b) for h, b in _sections(doc) if h not in ("(head)", "Contents")]
    assert len(sections) >= 20
    lacking = [f"{h}: {p}" for h, b in sections for p in parts if p not in b]
    assert not lacking, lacking


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_within_the_page_has_its_heading(doc):
    anchors = {_slug(h) for h in re.findall(r"^#{1,3} (.+)$", doc, flags=re.M)}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", doc)) - anchors)
    assert not broken, broken
