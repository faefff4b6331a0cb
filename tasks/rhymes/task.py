"""`calibkit run rhymes --model BASE --model CHAT`: does one model plan its rhymes more than another?"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Mapping

import click

from calibkit.errors import UserError
from calibkit.tasks.freeform.pair import PairPlan, PairTask, comma_numbers, roles

from .run import TASK


def parse_words(text: str) -> tuple[int, ...]:
    """``"1,2,4"`` -> (1, 2, 4): how many of the other model's words are forced; ``""`` -> none.

    >>> parse_words("4, 1,2"), parse_words("")
    ((1, 2, 4), ())
    """
    values = comma_numbers(text, option="--forced-words", kind=int, what="whole numbers", example="1,2,4")
    if any(k < 1 for k in values):
        raise UserError(f"--forced-words {text!r}: each k must be at least 1")
    return values


class Rhymes(PairTask):
    """`calibkit run rhymes`: one or two models write line 2 of couplets."""

    name = "rhymes"
    run_name = TASK
    title = "Rhyme planning and mode collapse: what a base and a chat model write as line 2 of a couplet"
    description = """Rhyme planning and mode collapse in a base and a post-trained model (motivated by Lindsey et
    al. 2025, "On the Biology of a Large Language Model", planning in poems).

    Each model gets the first line of a rhyming couplet (base form "A rhyming couplet:\\n<line 1>\\n"; chat form
    "Write the second line of this rhyming couplet:\\n<line 1>") and writes line 2: greedily and --samples times at
    --temperature. Rhymes are judged by the CMU Pronouncing Dictionary (last stressed vowel onward; words it lacks
    are reported, never guessed); lines that do not rhyme are classed (poem ends, commentary, new poem, non-rhyming
    line). Per model: the rhyme share, the mix of the rest, mode collapse (distinct rhyme words, entropy, mass of
    the most frequent rhyme per couplet); the rhyme slot (the log-probs of the dictionary's one-token rhymes given
    the rest of each line: mass, entropy, rank of the written word); planning (a linear probe on every layer's
    state at the line break before line 2 that ranks the rhyme the model will write among the candidates, with a
    shuffled-target control, and the logit lens there); half-written lines (the other model's first k words
    forced: how often it still rhymes). Base vs chat with paired tests over couplets. Rerunning resumes.
    """
    examples = """
\b
Examples:
  calibkit run rhymes --model gemma-3-270m --model smollm2-135m-instruct --limit 40 --samples 10
  calibkit run rhymes --model llama-2-7b --model llama-2-7b-chat --limit 225 --samples 20
  calibkit run rhymes --model smollm2-135m-instruct --data my_first_lines.txt
"""

    def options(self) -> list[click.Option]:
        return _options()

    def check(self, values: Mapping[str, Any]) -> None:
        roles(values["models"])
        parse_words(values["forced_words"])

    def own_modules(self) -> tuple[ModuleType, ModuleType]:
        from . import report, study

        return study, report

    def plan(self, values: Mapping[str, Any]) -> PairPlan:
        from .data import load_couplets
        from .judge import default_judge
        from .run import RhymeSettings, rhymes_into

        v = values
        couplets = load_couplets(v["data"], limit=v["limit"], judge=default_judge())
        run = RhymeSettings(samples=v["samples"], temperature=v["temperature"], max_new_tokens=v["max_new_tokens"],
                            chat_max_new_tokens=2 * v["max_new_tokens"], forced_words=parse_words(v["forced_words"]),
                            forced_samples=v["forced_samples"], batch_size=v["batch_size"], seed=v["seed"])
        unknown = couplets.config["unknown_end_words"]
        notes = ((f"left out {len(unknown)} lines whose end word the CMU dictionary lacks: {', '.join(unknown[:10])}",)
                 if unknown else ())
        return PairPlan(couplets, dict(zip(roles(v["models"]), v["models"])), {**couplets.config, **run.config()},
                        work=lambda readers, system_prompt: rhymes_into(couplets, readers, run,
                                                                        system_prompt=system_prompt),
                        notes=notes)


def _options() -> list[click.Option]:
    return [
        click.Option(["--model", "models"], multiple=True, default=("gemma-3-270m", "smollm2-135m-instruct"),
                     show_default=True, metavar="NAME",
                     help="The base model, then the post-trained one (or one model on its own)."),
        click.Option(["--data"], default=None, metavar="PATH",
                     help="Your own first lines: a .txt file (one per line) or a JSONL with 'line' (optional 'id', "
                          "'end'). Default: the 225 embedded first lines."),
        click.Option(["--limit"], type=click.IntRange(min=1), default=40, show_default=True),
        click.Option(["--samples"], type=click.IntRange(min=1), default=10, show_default=True,
                     help="Lines sampled per couplet and model, besides the greedy one."),
        click.Option(["--temperature"], type=click.FloatRange(min=0.0, min_open=True), default=1.0,
                     show_default=True),
        click.Option(["--forced-words"], default="1,2,4", show_default=True, metavar="K[,K...]",
                     help="Half-written lines: force the other model's first k words of line 2 (empty: none)."),
        click.Option(["--forced-samples"], type=click.IntRange(min=0), default=0, show_default=True,
                     help="Lines sampled after each forced prefix, besides the greedy one."),
        click.Option(["--max-new-tokens"], type=click.IntRange(4, 256), default=24, show_default=True,
                     help="Per line in base form (chat form gets twice this: room for a preface)."),
        click.Option(["--batch-size"], type=click.IntRange(min=1), default=16, show_default=True,
                     help="Couplets per batch (each batch is stored as soon as it is done)."),
        click.Option(["--seed"], type=int, default=0, show_default=True, help="Sampling seed."),
    ]
