"""`calibkit paper` reads a task's runs together only where they share items; other runs make their own parts."""
from __future__ import annotations

from dataclasses import dataclass

from calibkit.paper.parts import PaperPart
from calibkit.paper.tables import Table
from calibkit.paper.write import numbered, sharing_groups


@dataclass
class FakeStore:
    name: str
    ids: tuple[str, ...]

    def rows(self):
        return [{"id": i} for i in self.ids]


def test_runs_group_by_any_shared_item_in_the_order_given():
    a, b, c, d = (FakeStore("a", ("1", "2")), FakeStore("b", ("9",)), FakeStore("c", ("2", "3")),
                  FakeStore("d", ("3", "4")))
    # a-c share "2", c-d share "3": one group (a partial overlap is compared on shared items); b alone
    assert [[s.name for s in g] for g in sharing_groups([a, b, c, d])] == [["a", "c", "d"], ["b"]]
    assert [[s.name for s in g] for g in sharing_groups([b, d, a])] == [["b"], ["d"], ["a"]]


def test_a_later_group_numbers_its_parts_and_its_tables_files():
    part = PaperPart("mmlu-comparison", Table("mmlu-comparison", ("model",), (("a",),)), runs=("runs/x",))
    assert numbered(part, 1) is part
    second = numbered(part, 2)
    assert second.name == second.content.name == "mmlu-comparison-2" and second.runs == part.runs


def test_a_model_folders_config_below_a_folder_is_not_a_run(tmp_path):
    import json

    from calibkit.paper.write import run_folders

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "llama"}))  # a Hugging Face model
    run = tmp_path / "runs" / "mmlu" / "m" / "abc"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"task": "mmlu", "model": "m"}))
    assert [s.path for s in run_folders([tmp_path])] == [run]
