"""The dataset card (README.md) of an "I don't know" dataset: what is in it, why, where each row comes from,
the twin balance, and the licences."""
from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from .constructed import REASONS, SEED_REASONS, SEEDS_LICENCE, TWIN_CRITERIA, TWIN_REASONS
from .dataset import KINDS, MODEL_REASONS, SPLITS, Row

LICENCES = {
    "triviaqa": "TriviaQA (Joshi et al. 2017): Apache License 2.0",
    "nq_open": "NQ-open (Kwiatkowski et al. 2019; Lee et al. 2019): CC BY-SA 3.0",
    "mmlu": "MMLU (Hendrycks et al. 2021): MIT License",
    "constructed": f"Constructed rows: {SEEDS_LICENCE}; the twins' facts are public facts, each row naming its source "
                   "in `evidence.source`",
}
#: where each reason's rows come from (the model's own runs, or which data file of the package)
ORIGINS = {
    "known": "the model's own run on the source's questions (`evidence.run`)",
    "unknown_to_model": "the model's own run on the source's questions (`evidence.run`)",
    "after_cutoff": "`seeds.json`: hand-written templates of recurring events, asked for years after `--cutoff`",
    "before_cutoff": "`events.json`: the same event's past results, with the month each was decided; the "
                     "organisation's page or list in `evidence.source`",
    "false_premise": "`seeds.json`: hand-written rules (a true question with one fact changed) and responses",
    "true_premise": "`seeds.json`: each rule's original question and its answers; the fact's source in "
                    "`evidence.source`",
    **{reason: f"`seeds.json`: hand-written {reason.replace('_', ' ')} questions" for reason in SEED_REASONS},
    "knowable": "`seeds.json`: each unknowable question's twin, a public fact on its topic; source in "
                "`evidence.source`",
    "public_fact": "`seeds.json`: each private question's twin, a public fact on its topic; source in "
                   "`evidence.source`",
    "neutral": "`seeds.json`: each polite-evasion question's twin, a neutral factual question; source in "
               "`evidence.source`",
}
CATEGORY_ORDER = ("known", "unknown_to_model", *(x for c in ("after_cutoff", "false_premise", *SEED_REASONS)
                                                 for x in (c, TWIN_REASONS[c])))


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


def categories_table(rows: Sequence[Row]) -> str:
    """A markdown table: every reason (category) with its kind, rows, origin and criterion."""
    criteria = {**MODEL_REASONS, **REASONS, **TWIN_CRITERIA}
    kinds = {r.reason: r.kind for r in rows}
    count = Counter(r.reason for r in rows)
    default_kind = {"known": "answer", "unknown_to_model": "abstain", **dict.fromkeys(REASONS, "abstain"),
                    **dict.fromkeys(TWIN_CRITERIA, "answer")}
    lines = ["| reason | kind | rows | where the rows come from | criterion |", "|---|---|---:|---|---|"]
    for reason in CATEGORY_ORDER:
        lines.append(f"| `{reason}` | {kinds.get(reason, default_kind[reason])} | {count[reason]} | "
                     f"{ORIGINS[reason]} | {criteria[reason]} |")
    return "\n".join(lines)


def twin_table(rows: Sequence[Row]) -> str:
    """A markdown table: per constructed category, abstentions, twins, pairs by split and pairs split apart."""
    by_id = {r.id: r for r in rows}
    lines = ["| category | abstention rows | twin rows | " + " | ".join(f"pairs in {s}" for s in SPLITS)
             + " | pairs split apart |", "|---|---:|---:|" + "---:|" * (len(SPLITS) + 1)]
    for category, twin_reason in TWIN_REASONS.items():
        abstain = [r for r in rows if r.reason == category]
        twins = [r for r in rows if r.reason == twin_reason]
        pairs = [(r, by_id[r.pair]) for r in abstain if r.pair in by_id]
        per = [sum(a.split == s and t.split == s for a, t in pairs) for s in SPLITS]
        apart = sum(a.split != t.split for a, t in pairs)
        lines.append(f"| {category} / {twin_reason} | {len(abstain)} | {len(twins)} | "
                     + " | ".join(map(str, per)) + f" | {apart} |")
    return "\n".join(lines)


def origin_line(rows: Sequence[Row]) -> str:
    """One sentence: how many rows come from the model's own knowledge, how many are constructed."""
    model = [r for r in rows if r.source != "constructed"]
    made = [r for r in rows if r.source == "constructed"]
    kinds = Counter(r.kind for r in model)
    made_kinds = Counter(r.kind for r in made)
    return (f"{len(model)} rows come from the model's own knowledge (its runs: {kinds['answer']} it answers right "
            f"consistently, {kinds['abstain']} it gets wrong consistently); {len(made)} are constructed, the same for "
            f"every model ({made_kinds['abstain']} abstentions and {made_kinds['answer']} answerable twins).")


def sources_list(rows: Sequence[Row]) -> str:
    """The documents behind the twins' facts, each with the number of rows that cite it."""
    count = Counter(str(r.evidence.get("source")) for r in rows if r.evidence.get("source"))
    return "\n".join(f"- {source} ({n} row{'s' if n > 1 else ''})" for source, n in sorted(count.items()))


def dataset_card(rows: Sequence[Row], *, manifest: Mapping[str, Any]) -> str:
    """README.md for the dataset folder."""
    kinds = Counter(r.kind for r in rows)
    t = manifest["thresholds"]
    left_out = ", ".join(f"{s}: {n}" for s, n in manifest.get("left_out", {}).items()) or "none"
    unpaired = manifest.get("after_cutoff_without_twin") or []
    sources = sorted({r.source for r in rows})
    cutoff = manifest.get("cutoff") or "not given, so there are no after-cutoff rows (nor their twins)"
    return f"""# "I don't know" dataset for {manifest['model']}

Prompts with either an informative answer or an "I don't know"-style response, built by
`calibkit idk build` ({manifest['calibkit_version']}, {manifest['created']}). {kinds['answer']} answer rows and
{kinds['abstain']} abstain rows. Load it with `datasets.load_from_disk("<this folder>")` (the `evidence` column is
a JSON string) or read `jsonl/<split>.jsonl`.

Every constructed abstention has an **answerable twin** on the same topic (same `group`, named in `pair`), so
the dataset teaches answering as well as declining, in the same proportions and on the same topics: a model
trained on the declines alone would learn to decline everything. {origin_line(rows)}

## Columns
`id`, `prompt` (the question as asked), `response` (the target), `kind` ({", ".join(KINDS)}), `reason` (why; see
the categories), `source`, `answers` (accepted answers of answer rows; the response is the first), `evidence`
(sample accuracy, P(IK), P(True), the model's own answer and the run it came from; or what a constructed row was
built from, and for a twin the `source` of its fact), `group` (the split unit), `pair` (a constructed row's twin),
`split`.

## Categories: where each comes from, and when "I don't know" (or an answer) is the right response
{categories_table(rows)}

## Counts
{counts_table(rows)}

Questions of the model-relative sources that were neither known nor unknown by the thresholds (left out):
{left_out}. After-cutoff questions left out because no result of their event before the cutoff is recorded
(so they have no twin): {len(unpaired)}{(": " + "; ".join(unpaired)) if unpaired else ""}.

## Twin balance
Every constructed abstention row has exactly one twin, and each pair lies in one split:

{twin_table(rows)}

Model-relative thresholds: a question is *known* when the greedy answer is right and at least
{t['answer']:g} of the {manifest['samples']} temperature-1 samples are right; *unknown to the model* when the greedy
answer is wrong, at most {t['idk']:g} of the samples are right, and the prompted P(IK) is at most {t['pik']:g}
(MMLU has no P(IK); its share of right samples is the probability of the right option). Training cutoff used for
after-cutoff rows: {cutoff}.

## Splits
By group, never by text alone: a row's split is a hash of its `group` (seed {manifest['seed']}), and a group holds
every row of one source question, an abstention and its twin, and all the after-cutoff rows of one event
template with their twins; so no group (and no question) is in two splits. Shares
{", ".join(f"{s} {x:g}" for s, x in zip(SPLITS, manifest['shares']))} of groups, so of rows only roughly.

## Sources and licences
{chr(10).join(f"- {LICENCES[s]}" for s in sources)}

## Limitations
Model-relative rows say what *this* model knows, judged by string matching of its answers; another model needs
its own build. The constructed rows are a few hundred hand-written prompts: they test a behaviour, they do not
measure a population. A twin is "the same topic", not the same difficulty: a model may know a twin's fact or not,
so a declined twin measures evasiveness only together with the model's accuracy on such facts.

## Sources of the twins' facts
{sources_list(rows) or "none (no constructed rows)"}
"""
