"""The question sources, one row each: where the questions come from, how they are asked, judged and decoded.

One :class:`Source` per question set a free-answer command can ask
(``--questions``): its loader, its prompt layout (stop strings included),
the matcher that judges an answer, the chat instruction, its default shots,
and its decoding (``max_new_tokens``, ``stop_rule``). Every command reads
the same row, so P(IK), token profiles or Nudging on NQ-open prompt, cut
and judge an answer as ``calibkit run nq_open`` does. :func:`load_questions`
gives a :class:`QuestionSet`. It reads data and builds strings only: no
model, no torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import click

from . import more_data, nq_open_data, triviaqa_data
from .layouts import ARITHMETIC_LAYOUT, CHAT_INSTRUCTION, GSM8K_LAYOUT, KADAVATH_LAYOUT, NQ_OPEN_LAYOUT, QALayout
from .more_data import SourceError
from .question import Loaded, Question


@dataclass(frozen=True)
class Request:
    """Which questions of a source to load (the options every free-answer command shares)."""

    data: str | None = None  # a local file or folder; None: the embedded copy, then the hub
    split: str = "validation"  # triviaqa and nq_open; the other sources have one split
    limit: int | None = None  # the first N questions
    shots: int = 0  # few-shot examples per question (resolved: the source's default already applied)
    seed: int = 0  # the few-shot draw
    hub_config: str = triviaqa_data.DEFAULT_CONFIG  # triviaqa's hub config


@dataclass(frozen=True)
class Source:
    """One question source: its loader, how it is asked and judged, and how an answer is decoded."""

    name: str  # `--questions <name>`, recorded in config.json
    title: str  # one line for --help
    load: Callable[[Request], Loaded]  # the questions with seeded shots, and the data part of config.json
    layout: QALayout  # base-form prompt layout and stop strings
    matcher: str  # an answers.MATCHERS name
    default_shots: int  # few-shot examples when --shots is not given
    max_new_tokens: int  # room an answer needs (a GSM8K solution needs more)
    stop_rule: str = "after_leading_whitespace"  # where a stop string ends an answer; "first": anywhere (lm-eval)
    instruction: str = CHAT_INSTRUCTION  # the chat form's instruction
    benchmark: bool = False  # a task of its own (`calibkit run <name>`, with splits): P(IK) and idk ask these


def _triviaqa(r: Request) -> Loaded:
    qs = triviaqa_data.load(data=r.data, config=r.hub_config, split=r.split, limit=r.limit, shots=r.shots,
                            seed=r.seed)
    return Loaded(tuple(qs), {"config": r.hub_config, "split": r.split, "shots": r.shots, "limit": r.limit,
                              "seed": r.seed, "data_source": qs[0].meta.get("source", r.data or "auto")})


def _nq_open(r: Request) -> Loaded:
    qs = nq_open_data.load(data=r.data, split=r.split, limit=r.limit, shots=r.shots, seed=r.seed)
    return Loaded(tuple(qs), {"split": r.split, "shots": r.shots, "limit": r.limit, "seed": r.seed,
                              "fewshot_split": r.split if r.shots else None,
                              "data_source": qs[0].meta["source"]})


def _data(loader: Callable[..., Loaded]) -> Callable[[Request], Loaded]:
    return lambda r: loader(data=r.data, limit=r.limit, shots=r.shots, seed=r.seed)


SOURCES: Mapping[str, Source] = {s.name: s for s in (
    # Kadavath et al. 2022 (appendix A.7): 10 shots; the paper gives no token bound, a short answer fits 32
    Source("triviaqa", "TriviaQA, closed-book (Joshi et al. 2017)", _triviaqa, KADAVATH_LAYOUT, "triviaqa",
           default_shots=triviaqa_data.DEFAULT_SHOTS, max_new_tokens=32, benchmark=True),
    # lm-eval's nq_open: 0 shots, generate_until "\n", ".", "," cut anywhere, max_gen_toks 256
    Source("nq_open", "NQ-open as lm-evaluation-harness asks it", _nq_open, NQ_OPEN_LAYOUT, "nq_open",
           default_shots=nq_open_data.DEFAULT_SHOTS, max_new_tokens=256, stop_rule="first", benchmark=True),
    Source("basic_arithmetic", "allenai/basic_arithmetic, judged by the answer's first number",
           _data(more_data.arithmetic), ARITHMETIC_LAYOUT, "first_number", default_shots=3, max_new_tokens=12,
           instruction="Give only the number."),
    Source("gsm8k", "GSM8K-style JSONL (--data), judged by the final number", _data(more_data.gsm8k),
           GSM8K_LAYOUT, "final_number", default_shots=0, max_new_tokens=256,
           instruction="Solve the problem step by step, then give the final number after '####'."),
    Source("mmlu", "MMLU with its lettered choices, judged by the answer's letter", _data(more_data.mmlu),
           KADAVATH_LAYOUT, "letter", default_shots=0, max_new_tokens=16,
           instruction="Answer with the letter of the right choice."),
    Source("file", "your JSONL of question (or prompt) and optional answer(s) (--data)",
           _data(more_data.prompts_file), KADAVATH_LAYOUT, "triviaqa", default_shots=0, max_new_tokens=64),
)}


def benchmark_names() -> tuple[str, ...]:
    """The sources that are tasks of their own (triviaqa, nq_open): what P(IK) and the idk builder ask."""
    return tuple(name for name, s in SOURCES.items() if s.benchmark)


def source_named(name: str) -> Source:
    """The row of ``name``, or a one-line error listing the sources."""
    if name not in SOURCES:
        raise SourceError(f"--questions {name!r} is unknown; use one of {', '.join(SOURCES)}")
    return SOURCES[name]


@dataclass(frozen=True)
class QuestionSet:
    """Questions with everything needed to ask them and judge the answers (a source's row, loaded)."""

    source: str  # a SOURCES name
    questions: tuple[Question, ...]
    layout: QALayout  # base-form prompt layout and stop strings
    matcher: str  # an answers.MATCHERS name
    instruction: str  # the chat form's instruction
    config: Mapping[str, Any]  # the data part of config.json
    max_new_tokens: int = 32  # room an answer needs (the source's row)
    has_answers: bool = True  # False for a prompts file without answers: nothing is judged
    stop_rule: str = "after_leading_whitespace"  # the source's row


def load_questions(source: str, *, data: str | None = None, limit: int | None = None, shots: int | None = None,
                   seed: int = 0, split: str = "validation") -> QuestionSet:
    """The questions of ``source`` with its row's layout, matcher and decoding; ``shots=None``: the row's default."""
    row = source_named(source)
    k = row.default_shots if shots is None else shots
    loaded = row.load(Request(data=data, split=split, limit=limit, shots=k, seed=seed))
    return QuestionSet(source, loaded.questions, row.layout, row.matcher, row.instruction,
                       {"source": source, **loaded.config}, max_new_tokens=row.max_new_tokens,
                       has_answers=loaded.has_answers, stop_rule=row.stop_rule)


def questions_option(*, default: str = "triviaqa", names: tuple[str, ...] | None = None,
                     help: str = "Which question set is asked.") -> list[click.Option]:
    """``--questions`` (one of ``names``, default all sources), and the old ``--task`` refused with a hint."""
    return [
        click.Option(["--questions", "source"], type=click.Choice(names or tuple(SOURCES)), default=default,
                     show_default=True, help=help),
        renamed_option("--task", "--questions"),
    ]


def renamed_option(old: str, new: str) -> click.Option:
    """A hidden ``old`` option that refuses any use with the one-line hint "<old> is now <new>" (exit 2)."""
    def refuse(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            raise click.UsageError(f"{old} is now {new}", ctx=ctx)

    return click.Option([old, f"renamed_{old.lstrip('-').replace('-', '_')}"], default=None, hidden=True,
                        expose_value=False, callback=refuse)
