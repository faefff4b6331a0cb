"""The runner's option resolution: a task's options as its command would get them."""
from __future__ import annotations

import pytest

from calibkit import task
from calibkit.runs.runner import task_values


def test_defaults_given_options_and_required_ones():
    mmlu = task_values(task("mmlu"), {"limit": 3})
    assert mmlu["limit"] == 3 and mmlu["shots"] == 5 and mmlu["fmt"] == "hendrycks"  # dest names, CLI defaults
    assert task_values(task("idk"), {"dataset": "d"})["split"] == "test"
    with pytest.raises(ValueError, match="idk needs --dataset"):
        task_values(task("idk"), {})
    with pytest.raises(ValueError, match="mmlu has no option 'limitt'; its options: .*limit"):
        task_values(task("mmlu"), {"limitt": 3})
