"""The README's Python example runs as written (on a synthetic run folder)."""
from __future__ import annotations

import re

from test_cli import synthetic_run

from conftest import REPO


def test_readme_python_example_runs(tmp_path):
    text = (REPO / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    store = synthetic_run(tmp_path, "smollm2")
    code = block.replace('"runs/mmlu/smollm2-135m-instruct/<hash>"', repr(str(store.path)))
    assert code != block, "the README example no longer loads a run folder"
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["stats"].n_items == 60
