"""Issue 25's model-level bench: a calibkit TriviaQA run's signals against LM-Polygraph 0.7.0 on the same model and prompts.

Three steps, two venvs (LM-Polygraph is a peer, never a dependency)::

    # 1. calibkit's run (its venv), one torch thread, its process CPU time from /usr/bin/time
    nice /usr/bin/time -v .venv/bin/calibkit run triviaqa --limit 40 --samples 5 --threads 1 \\
        --signals all,mean_pmi --quiet --run-dir /tmp/bench_pg/run
    # 2. calibkit side (its venv): the run's rows, exact contexts and calibkit's signal values as JSON;
    #    --time also re-decodes the same contexts in-process (greedy + K samples + PMI's forward + the
    #    signals) and records the CPU seconds of that work, checking it reproduces the run's rows
    .venv/bin/python bench/signals_model_vs_polygraph.py export /tmp/bench_pg/run --out /tmp/bench_pg/run.json --time
    # 3. LM-Polygraph side (the bench venv): the same weights (calibkit's dequantized copy of the embedded
    #    GGUF, found by calibkit's own helper in step 2) in WhiteboxModel, its stat calculators and
    #    estimators on the same contexts (batch 1), compared value by value, and its CPU seconds
    /work/polygraph-venv/bin/python bench/signals_model_vs_polygraph.py polygraph /tmp/bench_pg/run.json

What is compared (printed as markdown tables):

- greedy answers: LM-Polygraph's own greedy decoding (``GreedyProbsCalculator``,
  the run's stop strings as ``stop_strings``) against the run's;
- token arrays: the run's stored log-probs (rounded to 5 decimals) with the
  terminator appended (LM-Polygraph's convention) against LM-Polygraph's
  ``greedy_log_likelihoods``; entropies on the answer's tokens; both against a
  plain forward pass over context + answer (a third reading);
- greedy signals: LM-Polygraph's estimators on its own arrays against calibkit's
  formulas on the run's stored arrays, under LM-Polygraph's convention (terminator
  appended) and under calibkit's (LM-Polygraph's arrays cut to the answer's tokens);
- sample signals, exact: the run's own samples (texts, log-probs, clusters) fed
  to LM-Polygraph's estimators as its stats dict;
- sample signals, own samples: LM-Polygraph's ``SamplingGenerationCalculator``
  draws its own K samples (its RNG); distributions, rank correlation and a
  paired Wilcoxon test against the run's;
- CPU seconds (process user + sys, one torch thread, model load excluded) of
  the same work in each tool.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

#: row fields copied into the export (the signals' inputs and what the answers were)
ROW_FIELDS = ("id", "greedy_raw", "prediction", "finish_reason", "n_context_tokens", "correct_exact", "samples_raw",
              "greedy_token_logprobs", "greedy_entropies", "greedy_terminator_logprob", "sample_token_logprobs",
              "sample_terminator_logprobs", "sample_clusters", "greedy_unconditional_logprobs")


# =========================================================================== calibkit side (calibkit's venv)


def _run_rows(run: Path) -> tuple[dict, list[dict], dict]:
    from calibkit.runs.files import complete_lines
    from calibkit.runs.prompts import read_texts

    config = json.loads((run / "config.json").read_text())
    seen, rows = set(), []
    for row in complete_lines(run / "results.jsonl"):
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    contexts = {item: next(r.contexts[0] for r in readings if r.label == "answer")
                for item, readings in (read_texts(run) or {}).items()}
    return config, sorted(rows, key=lambda r: r["id"]), contexts


def _calibkit_values(row: dict, names) -> tuple[dict, dict]:
    """calibkit's value of each signal from the stored row: its convention, and with the terminator appended."""
    from calibkit.stats.signals import compute_signals
    from calibkit.tasks.free_answer.signal_inputs import item_inputs

    own = compute_signals(item_inputs(row), names)
    terminated = compute_signals(item_inputs(row, terminator=True), [n for n in names if n != "mean_pmi"])
    return own, terminated


def _time_calibkit(config: dict, contexts: list[str], rows: list[dict], names) -> dict:
    """The run's decoding, PMI's forward and signals redone in-process on the same contexts: CPU seconds, equality."""
    from calibkit.engine.generation import GenerationConfig, generate
    from calibkit.engine.models import load_model, set_cpu_threads
    from calibkit.engine.unconditional import unconditional_logprobs
    from calibkit.stats.signals import compute_signals
    from calibkit.tasks.free_answer.answers import MATCHERS
    from calibkit.tasks.free_answer.signal_inputs import item_inputs, signal_fields

    set_cpu_threads(1)
    loaded = load_model(config["model"])
    gen = GenerationConfig(max_new_tokens=config["max_new_tokens"], samples=config["samples"],
                           temperature=config["sample_temperature"], top_p=config["top_p"], stop=tuple(config["stop"]),
                           stop_rule=config["stop_rule"], seed=config["sampling_seed"], progress=False)
    matcher = MATCHERS[config["task"]]
    start = time.process_time()
    gens = generate(loaded, contexts, config=gen)
    uncond = unconditional_logprobs(loaded, [g.greedy.token_ids for g in gens])
    fields = [signal_fields(g, [matcher.extract(s.text) for s in g.samples], matcher, unconditional=u)
              for g, u in zip(gens, uncond)]
    for g, f in zip(gens, fields):
        compute_signals(item_inputs({**f, "samples_raw": [s.text for s in g.samples]}), names)
    cpu = time.process_time() - start
    # the run packed other batches (float round-off moves the 5th decimal), so texts are compared, log-probs by size
    greedy = sum(g.greedy.text == r["greedy_raw"] for g, r in zip(gens, rows))
    samples = sum([s.text for s in g.samples] == list(r["samples_raw"]) for g, r in zip(gens, rows))
    lp = max((abs(a - b) for f, r in zip(fields, rows) if len(f["greedy_token_logprobs"]) == len(r["greedy_token_logprobs"])
              for a, b in zip(f["greedy_token_logprobs"], r["greedy_token_logprobs"])), default=float("nan"))
    return {"cpu_s": cpu, "same_greedy": greedy, "same_samples": samples, "greedy_logprob_max_diff": lp,
            "items": len(rows),
            "generated_tokens": sum(len(g.greedy.token_ids) + sum(len(s.token_ids) for s in g.samples) for g in gens)}


def export(args) -> None:
    from calibkit.engine.models import cache_dir, resolve_model
    from calibkit.engine.weights import dequantized_folder
    from calibkit.tasks.free_answer.signals import selected

    run = Path(args.run)
    config, rows, contexts = _run_rows(run)
    names = selected(config)
    resolved = resolve_model(config["model"])
    items = []
    for row in rows:
        own, terminated = _calibkit_values(row, names)
        items.append({**{k: row.get(k) for k in ROW_FIELDS}, "context": contexts[row["id"]],
                      "calibkit": own, "calibkit_terminated": terminated})
    out = {"run": str(run), "config": {k: config[k] for k in ("model", "samples", "sample_temperature", "top_p",
                                                              "max_new_tokens", "stop", "stop_rule", "sampling_seed",
                                                              "task", "limit", "shots", "chat_template")},
           "gguf": str(Path(resolved.source) / str(resolved.gguf_file)) if resolved.gguf_file else None,
           "model_folder": str(dequantized_folder(resolved.source, resolved.gguf_file, cache_dir()))
           if resolved.gguf_file else resolved.source, "signals": list(names), "items": items}
    if args.time:
        out["calibkit_timing"] = _time_calibkit(config, [it["context"] for it in items], rows, names)
        print(json.dumps(out["calibkit_timing"]))
    Path(args.out).write_text(json.dumps(out))
    print(f"{len(items)} items -> {args.out}")


# =========================================================================== LM-Polygraph side (the bench venv)


def _load_polygraph(data: dict):
    import torch
    from lm_polygraph.utils.generation_parameters import GenerationParameters
    from lm_polygraph.utils.model import WhiteboxModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = data["model_folder"]
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    c = data["config"]
    # top_k=0: no top-k (LM-Polygraph's default is 50; calibkit samples from the full distribution)
    params = GenerationParameters(temperature=c["sample_temperature"], top_k=0, top_p=c["top_p"],
                                  stop_strings=list(c["stop"]))
    return WhiteboxModel(model, tokenizer, folder, "CausalLM", params)


def _polygraph_stats(wb, items: list[dict], config: dict) -> tuple[list[dict], float]:
    """LM-Polygraph's calculators on each context alone (batch 1), in the order its UEManager runs them; CPU s."""
    import torch
    from lm_polygraph.stat_calculators import (EntropyCalculator, GreedyLMProbsCalculator, GreedyProbsCalculator,
                                               SamplingGenerationCalculator)

    # output_attentions off (its default builder turns it on): less work for LM-Polygraph, same values
    calculators = [GreedyProbsCalculator(output_attentions=False), EntropyCalculator(), GreedyLMProbsCalculator(),
                   SamplingGenerationCalculator(samples_n=config["samples"])]
    torch.manual_seed(config["sampling_seed"])
    out, start = [], time.process_time()
    for it in items:
        stats: dict = {}
        for calc in calculators:
            stats.update(calc(stats, [it["context"]], wb, max_new_tokens=config["max_new_tokens"]))
        out.append(stats)
    return out, time.process_time() - start


def _reference_forward(wb, items: list[dict], stats: list[dict]) -> list[dict]:
    """A plain forward pass per item: context + LM-Polygraph's greedy tokens (log-probs, entropies), and the
    greedy tokens after the start token alone (PMI's unconditional term, each token read where it is predicted)."""
    import torch

    tok = wb.tokenizer
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    refs = []
    with torch.no_grad():
        for it, st in zip(items, stats):
            ctx = list(st["input_tokens"][0])
            ans = [int(t) for t in st["greedy_tokens"][0]]
            col = torch.tensor(ans)[:, None]
            logits = wb.model(input_ids=torch.tensor([ctx + ans])).logits[0, len(ctx) - 1:-1].float()
            lp = torch.log_softmax(logits, -1)
            masked = logits.clone()  # min_new_tokens=2: generate() gives EOS -inf at the first two steps
            masked[:2, wb.tokenizer.eos_token_id] = -float("inf")
            mlp = torch.log_softmax(masked, -1)
            ulp = torch.log_softmax(wb.model(input_ids=torch.tensor([[start] + ans])).logits[0].float(), -1)
            # LM-Polygraph's own unconditional input (the answer re-tokenized, its default special tokens)
            own = wb.tokenize([tok.decode(ans)])["input_ids"][0].tolist()
            late = torch.log_softmax(wb.model(input_ids=torch.tensor([own])).logits[0].float(), -1)[len(own) - len(ans):]
            refs.append({"lp": lp.gather(-1, col)[:, 0].numpy(), "entropy": -(lp.exp() * lp).sum(-1).numpy(),
                         "lp_masked": mlp.gather(-1, col)[:, 0].numpy(),
                         "entropy_masked": -(mlp.exp() * mlp.nan_to_num(neginf=0.0)).sum(-1).numpy(),
                         "ulp": ulp[:-1].gather(-1, col)[:, 0].numpy(),
                         # the distribution *after* token j (that of token j + 1) read at token j
                         "ulp_late": late.gather(-1, col)[:, 0].numpy()})
    return refs


def _answer_text(text: str, stop: list[str]) -> str:
    """LM-Polygraph's greedy text cut before the first stop string after the leading whitespace (calibkit's rule)."""
    lead = len(text) - len(text.lstrip())
    cuts = [text.find(s, lead) for s in stop if text.find(s, lead) >= 0]
    return text[:min(cuts)] if cuts else text


def _greedy_match(items: list[dict], stats: list[dict], stop: list[str]) -> list[dict]:
    """Per item: the greedy texts equal, and LM-Polygraph's token count = calibkit's kept tokens + its terminator."""
    out = []
    for it, st in zip(items, stats):
        theirs = _answer_text(st["greedy_texts"][0], stop)
        n_pg, n_ck = len(st["greedy_log_likelihoods"][0]), len(it["greedy_token_logprobs"])
        out.append({"id": it["id"], "same_text": theirs.strip() == (it["greedy_raw"] or "").strip(),
                    "pg_text": st["greedy_texts"][0], "ck_text": it["greedy_raw"], "n_pg": n_pg, "n_ck": n_ck,
                    "aligned": n_pg == n_ck + (it["greedy_terminator_logprob"] is not None),
                    "context_tokens": len(st["input_tokens"][0]) == it["n_context_tokens"]})
    return out


def _max_diff(pairs) -> float:
    diffs = [float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float)))) for a, b in pairs if len(a)]
    return max(diffs) if diffs else float("nan")


def _terminated(it: dict) -> list[float]:
    term = it["greedy_terminator_logprob"]
    return [*it["greedy_token_logprobs"], *([term] if term is not None else [])]


def _token_table(items, stats, refs, ok) -> list[str]:
    n = {i: len(items[i]["greedy_token_logprobs"]) for i in ok}
    lp_pg = {i: stats[i]["greedy_log_likelihoods"][0] for i in ok}
    ent_pg = {i: stats[i]["entropy"][0][:n[i]] for i in ok}
    rows = [
        ("log-probs, answer + terminator", "calibkit (stored) vs LM-Polygraph",
         _max_diff((_terminated(items[i]), lp_pg[i]) for i in ok)),
        ("", "calibkit (stored) vs plain forward", _max_diff((_terminated(items[i]), refs[i]["lp"]) for i in ok)),
        ("", "LM-Polygraph vs plain forward", _max_diff((lp_pg[i], refs[i]["lp"]) for i in ok)),
        ("", "LM-Polygraph vs plain forward with EOS masked at the first two steps (its min_new_tokens=2)",
         _max_diff((lp_pg[i], refs[i]["lp_masked"]) for i in ok)),
        ("entropies, answer tokens", "calibkit (stored) vs LM-Polygraph",
         _max_diff((items[i]["greedy_entropies"], ent_pg[i]) for i in ok)),
        ("", "calibkit (stored) vs plain forward",
         _max_diff((items[i]["greedy_entropies"], refs[i]["entropy"][:n[i]]) for i in ok)),
        ("", "LM-Polygraph vs plain forward", _max_diff((ent_pg[i], refs[i]["entropy"][:n[i]]) for i in ok)),
        ("", "LM-Polygraph vs plain forward with EOS masked at the first two steps",
         _max_diff((ent_pg[i], refs[i]["entropy_masked"][:n[i]]) for i in ok)),
    ]
    if all(items[i].get("greedy_unconditional_logprobs") is not None for i in ok):
        lm = {i: stats[i]["greedy_lm_log_likelihoods"][0] for i in ok}
        rows += [
            ("unconditional log-probs (PMI), answer tokens", "calibkit (stored) vs plain forward after the start token",
             _max_diff((items[i]["greedy_unconditional_logprobs"], refs[i]["ulp"][:n[i]]) for i in ok)),
            ("", "LM-Polygraph's greedy_lm_log_likelihoods vs the same (tokens 2..T; it zeroes the first)",
             _max_diff((lm[i][1:n[i]], refs[i]["ulp"][1:n[i]]) for i in ok)),
            ("", "LM-Polygraph's vs the answer alone, each token read where the *next* one is predicted (tokens 2..T)",
             _max_diff((lm[i][1:n[i]], refs[i]["ulp_late"][1:n[i]]) for i in ok)),
        ]
    return ["| array | pair | max abs diff |", "| --- | --- | --- |"] + [f"| {a} | {p} | {d:.2e} |" for a, p, d in rows]


def _batch(stats: list[dict], cut: list[int] | None = None) -> dict:
    """Per-item greedy arrays as one batch stats dict, each cut to ``cut[i]`` tokens (calibkit's convention)."""
    keys = ("greedy_log_likelihoods", "entropy", "greedy_lm_log_likelihoods")
    return {k: [list(s[k][0][:(None if cut is None else cut[j])]) for j, s in enumerate(stats)] for k in keys}


def _greedy_signal_table(items, stats, ok) -> list[str]:
    from lm_polygraph import estimators as E
    from scipy.stats import spearmanr

    from calibkit.stats.signals import likelihood

    sub, st = [items[i] for i in ok], [stats[i] for i in ok]
    own, cut = _batch(st), _batch(st, [len(it["greedy_token_logprobs"]) for it in sub])
    lines = ["| signal | LM-Polygraph's convention: calibkit on the stored arrays + terminator vs LM-Polygraph | "
             "calibkit's convention: the run's value vs LM-Polygraph on its arrays cut to the answer | "
             "the run's value vs LM-Polygraph as it ships: max abs | Spearman |", "| --- | --- | --- | --- | --- |"]
    rows = [("max_sequence_probability", E.MaximumSequenceProbability(), lambda v: np.exp(-v)),
            ("mean_nll", E.Perplexity(), lambda v: v), ("perplexity", E.Perplexity(), np.exp),
            ("mean_token_entropy", E.MeanTokenEntropy(), lambda v: v)]
    for name, est, to_ck in rows:
        ck = np.array([it["calibkit"][name] for it in sub])
        ck_term = np.array([it["calibkit_terminated"][name] for it in sub])
        pg_own, pg_cut = to_ck(np.asarray(est(own), float)), to_ck(np.asarray(est(cut), float))
        term = "n/a (no terminator entropy stored)" if name == "mean_token_entropy" else \
            f"{np.max(np.abs(ck_term - pg_own)):.2e}"
        lines.append(f"| {name} | {term} | {np.max(np.abs(ck - pg_cut)):.2e} | {np.max(np.abs(ck - pg_own)):.3g} "
                     f"| {spearmanr(ck, pg_own).statistic:.3f} |")
    raw = E.MaximumTokenProbability()(own)  # per answer, one -log p per token, its last (the terminator) dropped
    pg_mtp = np.array([np.exp(-np.max(r)) for r in raw])
    ck = np.array([it["calibkit"]["max_token_probability"] for it in sub])
    lines.append(f"| max_token_probability (exp(-max) of its token values) | (it drops the terminator itself) | "
                 f"{np.max(np.abs(ck - pg_mtp)):.2e} | {np.max(np.abs(ck - pg_mtp)):.3g} | (same) |")
    if "mean_pmi" in sub[0]["calibkit"]:
        ck = np.array([it["calibkit"]["mean_pmi"] for it in sub])
        pg_own = -np.asarray(E.MeanPointwiseMutualInformation()(own), float)
        pg_cut = -np.asarray(E.MeanPointwiseMutualInformation()(cut), float)
        # calibkit's formula on LM-Polygraph's own inputs (first term zeroed as it does): the formula alone
        formula = np.array([likelihood.mean_pmi(a, [0.0, *b[1:]]) for a, b in
                            zip(cut["greedy_log_likelihoods"], cut["greedy_lm_log_likelihoods"])])
        lines.append(f"| mean_pmi | n/a (no unconditional terminator stored) | {np.max(np.abs(ck - pg_cut)):.3g} "
                     f"(calibkit's formula on LM-Polygraph's inputs: {np.max(np.abs(formula - pg_cut)):.2e}) | "
                     f"{np.max(np.abs(ck - pg_own)):.3g} | {spearmanr(ck, pg_own).statistic:.3f} |")
    return lines


def _run_sample_stats(items: list[dict], *, terminator: bool) -> dict:
    """The run's own samples as LM-Polygraph's stats dict; ``terminator`` appends each terminator token as it does."""
    def lps(lp, t):
        return [*lp, t] if terminator and t is not None else list(lp)

    samples = [[lps(lp, t) for lp, t in zip(it["sample_token_logprobs"], it["sample_terminator_logprobs"])]
               for it in items]
    classes = {"class_to_sample": {}, "sample_to_class": {}}
    entail, contra = [], []
    for b, it in enumerate(items):
        ids = np.asarray(it["sample_clusters"])
        classes["class_to_sample"][b] = [list(np.flatnonzero(ids == c)) for c in range(ids.max() + 1)]
        classes["sample_to_class"][b] = {j: int(c) for j, c in enumerate(ids)}
        same = (ids[:, None] == ids[None, :]).astype(float)
        entail.append(same)
        contra.append(1.0 - same)
    return {"sample_log_probs": [[float(np.sum(s)) for s in ss] for ss in samples],
            "sample_tokens": [[list(range(len(s))) for s in ss] for ss in samples],
            "sample_texts": [list(it["samples_raw"]) for it in items],
            "semantic_matrix_entail": np.stack(entail), "semantic_matrix_contra": np.stack(contra),
            "semantic_classes_entail": classes}


def _calibkit_sample_values(items: list[dict], stem) -> dict[str, np.ndarray]:
    """calibkit's values of the compared sample signals: the run's, plus the peer's variants by calibkit's functions."""
    from calibkit.stats.signals import graph, lexical

    run = {name: np.array([it["calibkit"][name] for it in items]) for name in
           ("mc_sequence_entropy", "mc_normalized_sequence_entropy", "num_semantic_sets", "semantic_entropy",
            "discrete_semantic_entropy")}
    run["lexical_similarity (Porter stem)"] = np.array(
        [lexical.lexical_similarity(it["samples_raw"], stem=stem) for it in items])
    for name in ("eig_val_laplacian", "degree", "eccentricity"):
        run[f"{name} (NLI entail)"] = np.array([it["calibkit"][name] for it in items])
        fn = getattr(graph, name)
        run[f"{name} (Jaccard)"] = np.array([fn(lexical.jaccard_matrix(it["samples_raw"])) for it in items])
    return run


def _sample_exact_table(items: list[dict], stem) -> list[str]:
    from signals_vs_polygraph import polygraph_rows

    mine = _calibkit_sample_values(items, stem)
    terminated_ck = {n: np.array([it["calibkit_terminated"][n] for it in items])
                     for n in ("mc_sequence_entropy", "mc_normalized_sequence_entropy", "semantic_entropy")}
    rows = [r for r in polygraph_rows() if r[0] in mine]
    same = _run_sample_stats(items, terminator=False)
    term = _run_sample_stats(items, terminator=True)
    lines = ["| signal | calibkit's convention: max abs diff | LM-Polygraph's convention (terminator): max abs diff "
             "| what the terminator moves (max abs) |", "| --- | --- | --- | --- |"]
    for name, est, to_ck in rows:
        a, b = to_ck(np.asarray(est(same), float)), to_ck(np.asarray(est(term), float))
        t = terminated_ck.get(name)
        d_term = f"{np.max(np.abs(t - b)):.2e}" if t is not None else "(no token log-probs read)"
        lines.append(f"| {name} | {np.max(np.abs(mine[name] - a)):.2e} | {d_term} | {np.max(np.abs(mine[name] - b)):.3g} |")
    plain = np.array([it["calibkit"]["lexical_similarity"] for it in items])
    lines += ["", f"The run's lexical_similarity (no stemmer, calibkit's default) vs the Porter-stemmed one: max abs "
                  f"diff {np.max(np.abs(plain - mine['lexical_similarity (Porter stem)'])):.3g}, on "
                  f"{int(np.sum(np.abs(plain - mine['lexical_similarity (Porter stem)']) > 1e-12))} of {len(items)} items."]
    return lines


def _own_sample_table(items: list[dict], stats: list[dict], stem) -> list[str]:
    from lm_polygraph import estimators as E
    from scipy.stats import spearmanr, wilcoxon
    from sklearn.metrics import roc_auc_score

    from calibkit.stats.signals import lexical

    pg = {k: [s[k][0] for s in stats] for k in ("sample_log_probs", "sample_tokens", "sample_texts")}
    correct = np.array([bool(it["correct_exact"]) for it in items])
    rows = [("mc_sequence_entropy", E.MonteCarloSequenceEntropy()(pg), [it["calibkit_terminated"]["mc_sequence_entropy"] for it in items], -1),
            ("mc_normalized_sequence_entropy", E.MonteCarloNormalizedSequenceEntropy()(pg),
             [it["calibkit_terminated"]["mc_normalized_sequence_entropy"] for it in items], -1),
            ("lexical_similarity (Porter stem)", -np.asarray(E.LexicalSimilarity("rougeL")(pg)),
             [lexical.lexical_similarity(it["samples_raw"], stem=stem) for it in items], 1)]
    lines = ["| signal (LM-Polygraph's convention) | calibkit's samples: mean (sd) | LM-Polygraph's samples: mean (sd) "
             "| Spearman across items | Wilcoxon signed-rank p | AUROC calibkit / LM-Polygraph |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, theirs, mine, sign in rows:
        a, b = np.asarray(mine, float), np.asarray(theirs, float)
        auc = (f"{roc_auc_score(correct, sign * a):.3f} / {roc_auc_score(correct, sign * b):.3f}"
               if 0 < correct.sum() < len(correct) else "n/a")
        p = wilcoxon(a, b).pvalue if np.any(a != b) else float("nan")
        lines.append(f"| {name} | {a.mean():.3f} ({a.std(ddof=1):.3f}) | {b.mean():.3f} ({b.std(ddof=1):.3f}) | "
                     f"{spearmanr(a, b).statistic:.3f} | {p:.3f} | {auc} |")
    n_pg = sum(len(s["sample_texts"][0]) for s in stats)
    lines.append(f"\nLM-Polygraph kept {n_pg} of {len(items) * len(stats[0]['sample_texts'][0]) if stats else 0} "
                 "samples (it drops samples with no token).")
    return lines


def polygraph(args) -> None:
    import torch
    from importlib.metadata import version as installed
    from nltk.stem import porter

    from lm_polygraph import estimators as E

    torch.set_num_threads(1)
    data = json.loads(Path(args.export).read_text())
    items, config = data["items"], data["config"]
    wb = _load_polygraph(data)
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():  # re-reading a finished pass: only the comparisons are redone
        import pickle
        stats, cpu_calc = pickle.loads(cache.read_bytes())
    else:
        stats, cpu_calc = _polygraph_stats(wb, items, config)
        if cache:
            import pickle
            kept = ("input_tokens", "greedy_tokens", "greedy_texts", "greedy_log_likelihoods", "entropy",
                    "greedy_lm_log_likelihoods", "sample_log_probs", "sample_tokens", "sample_texts")
            cache.write_bytes(pickle.dumps(([{k: s[k] for k in kept} for s in stats], cpu_calc)))
    start = time.process_time()
    batch = {**_batch(stats), **{k: [s[k][0] for s in stats] for k in ("sample_log_probs", "sample_tokens",
                                                                         "sample_texts")}}
    for est in (E.MaximumSequenceProbability(), E.Perplexity(), E.MeanTokenEntropy(), E.MaximumTokenProbability(),
                E.MeanPointwiseMutualInformation(), E.MonteCarloSequenceEntropy(),
                E.MonteCarloNormalizedSequenceEntropy(), E.LexicalSimilarity("rougeL")):
        est(batch)
    cpu_est = time.process_time() - start
    refs = _reference_forward(wb, items, stats)
    stem = porter.PorterStemmer().stem
    match = _greedy_match(items, stats, config["stop"])
    ok = [i for i, m in enumerate(match) if m["same_text"] and m["aligned"] and items[i]["greedy_token_logprobs"]]
    out = [f"lm-polygraph {installed('lm-polygraph')}, transformers {installed('transformers')}, torch "
           f"{torch.__version__}; run {data['run']}: {len(items)} questions, {config['samples']} samples at T="
           f"{config['sample_temperature']}, max {config['max_new_tokens']} new tokens, stop {config['stop']!r}, "
           f"weights {data['model_folder']} (dequantized from {data['gguf']})", "",
           "### Greedy answers", "",
           f"- same greedy answer (LM-Polygraph's text cut at the stop string): "
           f"{sum(m['same_text'] for m in match)} / {len(items)}",
           f"- same context token count: {sum(m['context_tokens'] for m in match)} / {len(items)}",
           f"- LM-Polygraph's tokens = calibkit's kept tokens + its terminator: {sum(m['aligned'] for m in match)} / "
           f"{len(items)}",
           f"- compared value by value (same answer, aligned, non-empty): {len(ok)}"]
    out += [f"  - differs: {m['id']}: calibkit {m['ck_text']!r} ({m['n_ck']} tokens), LM-Polygraph {m['pg_text']!r} "
            f"({m['n_pg']} tokens)" for m in match if not (m["same_text"] and m["aligned"])]
    out += ["", "### Token arrays", ""] + _token_table(items, stats, refs, ok)
    out += ["", "### Greedy signals", ""] + _greedy_signal_table(items, stats, ok)
    out += ["", "### Sample signals: the run's samples fed to LM-Polygraph's estimators", ""] + \
        _sample_exact_table(items, stem)
    out += ["", "### Sample signals: each tool's own samples", ""] + _own_sample_table(items, stats, stem)
    ck_time = data.get("calibkit_timing", {})
    pg_tokens = sum(len(s["greedy_tokens"][0]) + sum(len(t) for t in s["sample_tokens"][0]) for s in stats)
    out += ["", "### CPU seconds, same work (process user + sys, one torch thread, model load excluded)", "",
            "| tool | what | CPU s | generated tokens |", "| --- | --- | --- | --- |",
            f"| LM-Polygraph | calculators (greedy, entropy, unconditional forward, {config['samples']} samples; "
            f"batch 1) | {cpu_calc:.1f} | {pg_tokens} |",
            f"| LM-Polygraph | estimators (8) | {cpu_est:.2f} | |"]
    if ck_time:
        out += [f"| calibkit | generate (greedy + {config['samples']} samples in one pass) + unconditional forward + "
                f"signal table | {ck_time['cpu_s']:.1f} | {ck_time['generated_tokens']} |",
                "", f"calibkit's in-process pass against the run's rows: same greedy answer {ck_time['same_greedy']} / "
                f"{ck_time['items']}, same {config['samples']} sample texts {ck_time['same_samples']} / {ck_time['items']}, "
                f"greedy token log-probs within {ck_time['greedy_logprob_max_diff']:.1e}. Ratio LM-Polygraph / calibkit: "
                f"{(cpu_calc + cpu_est) / ck_time['cpu_s']:.2f}x."]
    print("\n".join(out))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="side", required=True)
    e = sub.add_parser("export", help="calibkit's venv: a run folder's rows, contexts and signal values as JSON")
    e.add_argument("run")
    e.add_argument("--out", required=True)
    e.add_argument("--time", action="store_true", help="also redo the run's decoding in-process and time it")
    p = sub.add_parser("polygraph", help="the bench venv: LM-Polygraph on the exported contexts, compared")
    p.add_argument("export")
    p.add_argument("--cache", help="pickle of LM-Polygraph's stats: written after its pass, read instead of it when present")
    args = parser.parse_args(argv)
    export(args) if args.side == "export" else polygraph(args)


if __name__ == "__main__":
    main()
