"""The dataset card (README.md) of an "I don't know" dataset: what is in it, why, and under which licences."""
from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from .constructed import REASONS, SEEDS_LICENCE
from .dataset import KINDS, MODEL_REASONS, SPLITS, Row

LICENCES = {
    "triviaqa": "TriviaQA (Joshi et al. 2017): Apache License 2.0",
    "nq_open": "NQ-open (Kwiatkowski et al. 2019; Lee et al. 2019): CC BY-SA 3.0",
    "mmlu": "MMLU (Hendrycks et al. 2021): MIT License",
    "constructed": f"Constructed rows: {SEEDS_LICENCE}",
}


def counts_table(rows: Sequence[Row]) -> str:
    """A markdown table: rows per source, kind and reason, by split."""
    count = Counter((r.source, r.kind, r.reason, r.split) for r in rows)
    keys = sorted({(s, k, why) for s, k, why, _ in count})
    lines = ["| source | kind | reason | " + " | ".join(SPLITS) + " | total |", "|---|---|---|" + "---:|" * 4]
    for s, k, why in keys:
        per = [count[(s, k, why, split)] for split in SPLITS]
        lines.append(f"| {s} | {k} | {why} | " + " | ".join(map(str, per)) + f" | {sum(per)} |")
    totals = [sum(1 for r in rows if r.split == split) for split in SPLITS]
    lines.append("| **all** | | | " + " | ".join(map(str, totals)) + f" | {len(rows)} |")
    return "\n".join(lines)


def dataset_card(rows: Sequence[Row], *, manifest: Mapping[str, Any]) -> str:
    """README.md for the dataset folder."""
    kinds = Counter(r.kind for r in rows)
    criteria = "\n".join(f"- `{k}`: {v}" for k, v in {**MODEL_REASONS, **REASONS}.items())
    t = manifest["thresholds"]
    left_out = ", ".join(f"{s}: {n}" for s, n in manifest.get("left_out", {}).items()) or "none"
    sources = sorted({r.source for r in rows})
    cutoff = manifest.get("cutoff") or "not given, so there are no after-cutoff rows"
    return f"""# "I don't know" dataset for {manifest['model']}

Prompts with either an informative answer or an "I don't know"-style response, built by
`calibkit idk build` ({manifest['calibkit_version']}, {manifest['created']}). {kinds['answer']} answer rows and
{kinds['abstain']} abstain rows. Load it with `datasets.load_from_disk("<this folder>")` (the `evidence` column is
a JSON string) or read `jsonl/<split>.jsonl`.

## Columns
`id`, `prompt` (the question as asked), `response` (the target), `kind` ({", ".join(KINDS)}), `reason` (why; see
the criteria), `source`, `answers` (accepted answers of answer rows), `evidence` (sample accuracy, P(IK), P(True),
the model's own answer and the run it came from, or what a constructed row was built from), `split`.

## Counts
{counts_table(rows)}

Questions of the model-relative sources that were neither known nor unknown by the thresholds (left out):
{left_out}.

## When "I don't know" is the right response (criteria)
{criteria}

Model-relative thresholds: a question is *known* when the greedy answer is right and at least
{t['answer']:g} of the {manifest['samples']} temperature-1 samples are right; *unknown to the model* when the greedy
answer is wrong, at most {t['idk']:g} of the samples are right, and the prompted P(IK) is at most {t['pik']:g}
(MMLU has no P(IK); its share of right samples is the probability of the right option). Training cutoff used for
after-cutoff rows: {cutoff}.

## Splits
By question: a row's split is a hash of its normalised prompt (seed {manifest['seed']}), so no question is in two
splits; shares {", ".join(f"{s} {x:g}" for s, x in zip(SPLITS, manifest['shares']))}.

## Sources and licences
{chr(10).join(f"- {LICENCES[s]}" for s in sources)}

## Limitations
Model-relative rows say what *this* model knows, judged by string matching of its answers; another model needs
its own build. The constructed rows are a few hundred hand-written prompts: they test a behaviour, they do not
measure a population.
"""
