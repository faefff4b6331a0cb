"""The free-answer signal table of runs that judge their items by their own target (P(IK), abstention).

A P(IK) run (``tasks/pik``) and an abstention run (``tasks/idk``) decode
their answers with :class:`.answering.Answerer` and keep the signals'
inputs per row (:func:`.signal_inputs.signal_fields`), as a free-answer run
does; but they judge a signal against their own target (the P(IK) label,
an appropriate reply), on their own items. :func:`judged_table` computes the
same table as the free-answer summary (:func:`.signals.confidences`, then
:func:`.signals.signal_quality`: AUROC, AURC, PRR, Spearman and, for a
probability, the two ECEs, with bootstrap CIs), in the same schema, so that
:func:`calibkit.tasks.free_answer.report.signal_table_text` and
``signal_table_frame`` show it. No model, no torch.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from . import signals as free

#: the signals' inputs (:class:`calibkit.stats.signals.ItemInputs` fields) that the stored fields give: the
#: greedy answer's, and with samples (kept raw as ``samples_raw``) the samples' and their matcher clusters'
GREEDY_INPUTS = ("greedy_log_probs", "greedy_entropies")
SAMPLE_INPUTS = (*GREEDY_INPUTS, "sample_log_probs", "sample_texts", "cluster_ids", "similarity")
#: why a table is missing: the rows were written before runs kept the signals' inputs
NOT_STORED = ("the rows do not keep the signals' inputs (a run made before they were stored); rerun it in a new "
              "folder for the signal table")


def readable(inputs: Sequence[str], *, run: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The signals that read only ``inputs``, in table order, and every other one with what it needs.

    Example:
        >>> names, left = readable(GREEDY_INPUTS, run="an idk run")
        >>> names[:2], left["semantic_entropy"]
        (('max_sequence_probability', 'perplexity'), 'needs sample_log_probs, cluster_ids, which an idk run does not keep')
    """
    names, left = [], {}
    for name, signal in free.TABLE.items():
        missing = [f for f in signal.inputs if f not in inputs]
        if missing:
            left[name] = f"needs {', '.join(missing)}, which {run} does not keep"
        else:
            names.append(name)
    return tuple(names), left


def judged_table(rows: Sequence[Mapping[str, Any]], target: np.ndarray, names: Sequence[str], *,
                 own: Mapping[str, tuple[str, np.ndarray]] | None = None, not_computed: Mapping[str, str],
                 n_bins: int = 10, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Each signal of ``names`` (and each of the run's ``own`` predictors, first) judged against ``target``.

    Args:
        rows: ``n`` rows sorted by id, each with ``empty_answer`` where its greedy answer is empty (its
            greedy signals then rank lowest, as in the free-answer run).
        target: ``(n,)`` bool, the rows' target in the same order (True: the confidence should be high).
        names: the free-answer signals to compute (:data:`.signals.COMPUTED` names whose inputs the rows keep).
        own: ``{name: (label, (n,) probability)}``, the run's own predictors, judged the same way.
        not_computed: the signals left out, each with why (shown under the table).

    Returns:
        ``{"n", "selected", "not_computed", "not_stored", "signals"}`` as the free-answer summary's
        ``signal_table`` (``not_stored``: :data:`NOT_STORED` when the rows lack the inputs, else None;
        the own predictors are still judged).
    """
    y = np.asarray(target, dtype=bool)
    if [r["id"] for r in rows] != sorted(r["id"] for r in rows):  # confidences() sorts: the target must follow
        raise ValueError("judged_table: rows must be sorted by id, the target in their order")
    kw = dict(n_bins=n_bins, n_resamples=n_resamples, seed=seed)
    table: dict[str, Any] = {}
    if y.size == 0:  # no items to judge (a run too small to hold a test question): an empty table
        return {"n": 0, "selected": list(names), "not_computed": dict(not_computed), "not_stored": None,
                "signals": table}
    for name, (label, conf) in (own or {}).items():
        ivs = free.signal_quality(np.asarray(conf, dtype=np.float64), y, probability=True, **kw)
        table[name] = {**free.signal_entry(name, label), **{k: iv.to_json() for k, iv in ivs.items()}}
    computed = free.confidences(rows, names)
    for name, conf in computed.items():
        ivs = free.signal_quality(conf, y, probability=free.TABLE[name].probability, **kw)
        table[name] = {**free.signal_entry(name, name), **{k: iv.to_json() for k, iv in ivs.items()}}
    return {"n": int(y.size), "selected": list(names), "not_computed": dict(not_computed),
            "not_stored": NOT_STORED if names and not computed else None, "signals": table}
