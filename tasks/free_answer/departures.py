"""Where a free-answer run departs from the method its numbers are named after, one sentence each, from its config.json.

Only what a run's settings decide; docs/METHODS.md lists every departure.
TriviaQA runs are measured against Kadavath et al. (2022), NQ-open runs
against lm-evaluation-harness's nq_open as well, ``--verbal`` against Tian
et al. (2023). The sentences go into summary.json and the text beside the
numbers.
"""
from __future__ import annotations

from typing import Any, Mapping


LM_EVAL_MAX_GEN_TOKS = 256  # lm-eval 0.4.13's HFLM.max_gen_toks, the bound its nq_open runs under


def departures(config: Mapping[str, Any]) -> list[str]:
    """Where a run departs from the method its numbers are named after, one sentence each, from its config.json.

    Only what this run's settings decide; docs/METHODS.md lists every
    departure. TriviaQA runs are measured against Kadavath et al. (2022),
    NQ-open runs (``matcher="nq_open"``) against lm-evaluation-harness's
    nq_open as well, ``--verbal`` against Tian et al. (2023), ``--nli-model``
    against Kuhn et al. (2023).

    Example:
        >>> departures({"ptrue_examples": 0, "ptrue_prompt": "none", "brainstorm": 0})[0][:40]
        'P(True) shows no example (--ptrue-prompt'
    """
    notes = _ptrue_departures(config) + _verbal_departures(config) + _nli_departures(config)
    if config.get("matcher") == "nq_open":
        notes += _lm_eval_departures(config)
    elif config.get("chat_template"):
        notes.append("Chat form: the question sits in one user turn after calibkit's instruction; Kadavath et al. "
                     "prompted pretrained models in base form.")
    return notes


def _ptrue_departures(config: Mapping[str, Any]) -> list[str]:
    shots, notes = int(config.get("ptrue_examples", 0)), []
    if shots:
        notes.append(f"P(True) shows {shots} few-shot examples: the model's own answers to other questions of this "
                     "run, labelled by exact match (the paper does not say where its examples came from).")
    elif config.get("ptrue_prompt", "none") == "none":
        notes.append("P(True) shows no example (--ptrue-prompt none, calibkit's variant); Kadavath et al.'s "
                     "non-few-shot P(True) shows six hand-written examples first (appendix A.5).")
    elif not config.get("brainstorm"):
        notes.append("P(True) shows the six examples of Kadavath et al.'s appendix A.5 without their brainstormed "
                     "ideas, worded as the section 4.1 prompt; the paper prints only the brainstorm version.")
    temperature = float(config.get("sample_temperature", 1.0))
    if temperature != 1.0 and config.get("ptrue_answer") == "sample":
        notes.append(f"P(True) evaluates a sample drawn at T = {temperature:g}; the paper's are drawn at T = 1.")
    return notes


def _verbal_departures(config: Mapping[str, Any]) -> list[str]:
    """Where --verbal departs from Tian et al. (2023), who asked chat models through their APIs."""
    method = config.get("verbal")
    if not method:
        return []
    notes = [f"Verbalized confidence replies are greedy and at most {config.get('verbal_max_new_tokens')} tokens "
             "long; Tian et al. do not state their decoding."]
    if method == "two-stage":
        notes.append("Verbalized confidence (two-stage) asks about the run's own greedy answer, given to the run's "
                     "answer prompt; Tian et al.'s first stage is their 'Provide your best guess' prompt.")
    if not config.get("chat_template"):
        notes.append("Verbalized confidence in base form: Tian et al. ask chat models only; here the same prompt "
                     "text is continued as plain text (a blank line ends the reply).")
    return notes


def _nli_departures(config: Mapping[str, Any]) -> list[str]:
    """Where --nli-model's clustering departs from Kuhn et al. (2023), as this run's settings decide."""
    if config.get("nli_model") and config.get("nli_input") == "answer":
        return ["The NLI model reads each sampled answer alone (--nli-input answer, LM-Polygraph's input); Kuhn et al. "
                "and Farquhar et al. give it the question with the answer."]
    return []


def _lm_eval_departures(config: Mapping[str, Any]) -> list[str]:
    notes = []
    if config.get("stop_rule", "after_leading_whitespace") != "first":
        notes.append("Answers are cut at a stop string only after their leading whitespace (--stop-rule "
                     "after_leading_whitespace); lm-eval cuts at its first occurrence anywhere.")
    if config.get("max_new_tokens") != LM_EVAL_MAX_GEN_TOKS:
        notes.append(f"At most {config.get('max_new_tokens')} new tokens per answer; lm-eval generates up to "
                     f"{LM_EVAL_MAX_GEN_TOKS}.")
    if config.get("chat_template"):
        notes.append("Chat form: calibkit's instruction and lm-eval's description share one user turn; lm-eval's "
                     "--apply_chat_template puts the description in a system message and adds no instruction.")
    if config.get("shots"):
        notes.append(f"Few-shot examples come from the {config.get('fewshot_split') or 'evaluated'} split itself; "
                     "lm-eval draws them from train.")
    return notes
