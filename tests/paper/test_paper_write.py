"""write_paper on tiny run folders: figures, tables, provenance.json and the appendix table (tiny model)."""
from __future__ import annotations

import json

import pytest

from calibkit.errors import UserError
from calibkit.paper import PaperPart, write_paper
from calibkit.paper.options import option_parts
from calibkit.paper.provenance import NOT_RECORDED, run_record
from calibkit.paper.tables import Table
from calibkit.runs.store import RunStore, config_hash

from conftest import shared_path
from latex_compile import assert_compiles

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory) -> list[RunStore]:
    """`calibkit run mmlu` on 2 items, chat template off (a base-form run) and on (a chat-form run)."""
    from calibkit.cli import main

    out = tmp_path_factory.mktemp("paper-runs")
    folders = []
    for chat in ("off", "on"):
        with pytest.raises(SystemExit) as exc:
            main(["run", "mmlu", "--data", str(shared_path("mmlu")), "--subjects", "anatomy", "--limit", "2",
                  "--shots", "0", "--chat-template", chat, "--model", str(tiny_model_dir), "--quiet",
                  "--out", str(out)])
        assert exc.value.code == 0
        folders.append(max(out.glob("*/*/*/config.json"), key=lambda p: p.stat().st_mtime_ns).parent)
    return [RunStore.open(f) for f in folders]


def test_provenance_of_a_tiny_run(runs):
    record = run_record(runs[0])
    cfg = runs[0].config
    assert record.config_hash == runs[0].path.name  # the default folder is named by the hash
    assert (record.task, record.model, record.revision, record.n_items) == ("mmlu", cfg["model"], None, 2)
    assert record.calibkit_version == cfg["versions"]["calibkit"] and record.created == cfg["created"]
    # the command line as typed (shlex-quoted), recorded by the CLI and left out of the config hash
    assert record.command == cfg["command"] and record.command.startswith("calibkit run mmlu --data ")
    assert "--chat-template off" in record.command and record.config_hash == config_hash({**cfg, "command": "x"})
    from calibkit.runs.source import COMMAND_LINE

    assert COMMAND_LINE.get() is None  # once `main` returns, an API run in the process records no stale command


def test_write_paper_writes_every_part_and_where_it_came_from(runs, tmp_path):
    index = write_paper(runs, tmp_path, parts_of=lambda s: option_parts(s, prefix="mmlu", n_resamples=20))
    assert {p.name for p in (tmp_path / "figures").iterdir()} == {
        f"mmlu-{n}.{ext}" for n in ("reliability", "pooled", "rejection") for ext in ("pdf", "png", "tex")}
    table = (tmp_path / "tables" / "mmlu-comparison.md").read_text()
    assert (tmp_path / "tables" / "mmlu-comparison.md").stat().st_mode & 0o777 == 0o644  # shareable, not private
    assert "(n=2)" in table and "[0." not in table  # 2 items: estimates alone, no interval
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert [r["folder"] for r in record["runs"]] == [str(s.path) for s in runs]
    assert record["parts"]["mmlu-reliability"]["runs"] == [str(s.path) for s in runs]
    assert "figures/mmlu-reliability.pdf" in record["parts"]["mmlu-reliability"]["files"]
    assert record["calibkit"]["version"] == runs[0].config["versions"]["calibkit"]
    appendix = (tmp_path / "tables" / "provenance.tex").read_text()
    assert runs[0].path.name in appendix and "calibkit run mmlu" in appendix and "\\begin{table*}" in appendix
    assert index.unused == () and index.provenance == tmp_path / "provenance.json"


def test_runs_whose_task_gives_no_parts_are_listed_and_names_must_be_unique(runs, tmp_path):
    assert write_paper(runs, tmp_path, parts_of=lambda s: []).unused == tuple(str(s.path) for s in runs)
    part = PaperPart("t", Table("t", ("a",), ((1,),)), runs=())
    with pytest.raises(UserError, match="two parts are named t"):
        write_paper(runs, tmp_path, parts_of=lambda s: [part, part])
    with pytest.raises(UserError, match="no run folders given"):
        write_paper([], tmp_path)


def test_a_folder_above_runs_stands_for_every_run_below_it(runs, tmp_path):
    from calibkit.paper.write import run_folders

    root = runs[0].path.parents[2]  # OUT of `--out OUT`: OUT/mmlu/<model>/<hash>
    assert sorted(str(s.path) for s in run_folders([root, runs[0].path])) == sorted(str(s.path) for s in runs)
    with pytest.raises(UserError, match="holds no calibkit run folder"):
        run_folders([tmp_path])


def test_a_run_made_before_commands_were_recorded_says_so(runs, tmp_path):
    import shutil

    from calibkit.paper.provenance import appendix_table, provenance
    from calibkit.paper.tables import to_markdown

    old = tmp_path / "old"
    shutil.copytree(runs[0].path, old)
    cfg = json.loads((old / "config.json").read_text())
    del cfg["command"]
    (old / "config.json").write_text(json.dumps(cfg))
    store = RunStore.open(old)
    assert run_record(store).command is None and run_record(store).config_hash == runs[0].path.name
    assert NOT_RECORDED in to_markdown(appendix_table(provenance([store], {})))


def test_calibkit_paper_on_runs_of_two_tasks_writes_everything_and_it_compiles(runs, tiny_model_dir, tmp_path,
                                                                                capsys):
    """`calibkit paper` on a folder of MMLU runs and a Herbstritt-Franke run: each task's parts, the command lines
    in provenance.json, and (where pdflatex is installed) paper.tex compiles with every figure and table."""
    from calibkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "herbstritt-franke", "--templates", "t1", "--permutations", "2", "--chat-template", "off",
              "--model", str(tiny_model_dir), "--quiet", "--out", str(tmp_path / "runs")])
    assert exc.value.code == 0
    (hf,) = (tmp_path / "runs").glob("herbstritt_franke/*/*")
    out = tmp_path / "paper"
    with pytest.raises(SystemExit) as exc:
        main(["paper", str(runs[0].path.parents[2]), str(hf), "--out", str(out)])
    printed = capsys.readouterr().out
    assert exc.value.code == 0 and f"for 6 parts to {out}/" in printed
    record = json.loads((out / "provenance.json").read_text())
    assert sorted(record["parts"]) == ["herbstritt-franke-agreement", "herbstritt-franke-people", "mmlu-comparison",
                                       "mmlu-pooled", "mmlu-rejection", "mmlu-reliability"]
    commands = {r["folder"]: r["command"] for r in record["runs"]}
    assert commands[str(hf)].startswith("calibkit run herbstritt-franke --templates t1")
    assert all(commands[str(s.path)] == s.config["command"] for s in runs)
    assert record["parts"]["herbstritt-franke-people"]["runs"] == [str(hf)]
    table = (out / "tables" / "mmlu-comparison.md").read_text()
    assert table.startswith("| metric | tiny-llama0 (base) | tiny-llama0 (chat) | Δ tiny-llama0 (chat) − tiny-llama0")
    assert (out / "figures" / "herbstritt-franke-people.png").read_bytes()[:4] == b"\x89PNG"
    assert assert_compiles(out).stat().st_size > 10_000


def test_calibkit_paper_errors_are_one_line(tmp_path, capsys):
    from calibkit.cli import main

    (tmp_path / "file").write_text("")
    for argv, says in ((["paper", str(tmp_path), "--out", str(tmp_path / "p")], "holds no calibkit run folder"),
                       (["paper", str(tmp_path), "--out", str(tmp_path / "file" / "p")], "cannot write to")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and says in err and len(err.strip().splitlines()) == 1
