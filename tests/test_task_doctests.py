"""The examples in the task modules' docstrings run, imported under their installed names.

``pytest --doctest-modules`` would import ``tasks/`` by its folder name (a
second copy of every module beside ``calibkit.tasks``), so the task
packages' doctests run here instead.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import calibkit.tasks

MODULES = sorted(m.name for m in pkgutil.walk_packages(calibkit.tasks.__path__, prefix="calibkit.tasks."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs=vars(module).copy()):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
