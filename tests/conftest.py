"""Shared fixtures: paths to the reference data and tiny seeded models."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests must never reach a hub, and never wait for one.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `calibkit argv...` in-process; returns (exit code, stdout, stderr)."""
    from calibkit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def rerun_and_compare(capsys, argv: list[str], run: Path, tmp_path: Path, *, n: int) -> dict:
    """A run's second life: rerunning ``argv`` finds all ``n`` questions done, then the run is compared with a copy.

    ``argv``: the first run's arguments without ``--json``; ``run``: its
    folder. Returns ``calibkit compare --json``'s object (the copy is under
    ``tmp_path / "copy"``, the page ``tmp_path / "c.html"``).
    """
    code, out, err = run_cli(capsys, *argv)
    assert code == 0 and f"{n} questions were already done, 0 done now" in err
    shutil.copytree(run, tmp_path / "copy")
    code, out, err = run_cli(capsys, "compare", str(run), str(tmp_path / "copy"), "--out", str(tmp_path / "c.html"),
                             "--json")
    assert code == 0, err
    return json.loads(out)


def confidences_and_outcomes(max_n: int):
    """Hypothesis strategy: ``(confidences, corrects)``, a list of floats in [0, 1] and one of bools, 1..max_n long."""
    from hypothesis import strategies as st

    unit = st.floats(0.0, 1.0, allow_nan=False)
    return st.integers(1, max_n).flatmap(
        lambda n: st.tuples(st.lists(unit, min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n))
    )


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared/data is only on dev/CI machines)")
    return path


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's model runs, restored afterwards.

    On a shared 2-core machine torch's two OpenMP threads spin-wait on each
    other: small matmuls ran up to 40x slower (measured here), 1 thread none.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny seeded Llama with the real Llama-2 tokenizer and chat template, saved as an ordinary model folder."""
    from tiny_models import llama2_tokenizer, tiny_llama

    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    tiny_llama(tok.vocab_size, seed=0).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """Another tiny seeded Llama with the Llama-2 tokenizer but no chat template: a base model."""
    from transformers import AutoTokenizer

    from tiny_models import tiny_llama

    folder = tmp_path_factory.mktemp("tiny-base")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = None
    tiny_llama(tok.vocab_size, seed=5).save_pretrained(folder)
    tok.save_pretrained(folder)
    for f in folder.glob("chat_template*"):
        f.unlink()
    return folder
