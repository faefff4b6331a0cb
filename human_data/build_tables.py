"""Build the aggregated Herbstritt & Franke tables from the authors' cleaned files.

Usage (the exact command that made the committed tables)::

    python human_data/build_tables.py AUTHORS_CLEAN_DIR [--out DIR]

``AUTHORS_CLEAN_DIR`` holds the authors' cleaned files (from their repository
mic-he/ProbExp-HOU, renamed as in the project's shared data folder):

- ``1.simple_clean_production_data.csv``, ``1.simple_clean_interpretation_data.csv``
  (comma-separated),
- ``2.complex_clean_production_data.csv``, ``2.complex_clean_interpretation_data.csv``
  (``;``-separated, leading row index ``X``),
- ``1.simple_df_samples_posterior_params.csv`` (JAGS posterior samples of the
  simple-expression RSA model) and ``2.complex_variables_parameters.csv``
  (the authors' lower/mean/upper summaries for the complex model).

The script writes only aggregated counts (and parameter summaries): no
trial-level row and no participant id leaves it. It is self-contained
(standard library only) so it runs from a bare checkout; the layout of every
file it writes is described in ``human_data/README.md``. Output is
byte-for-byte deterministic: the tests rebuild the tables and compare them
with the committed files.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

N_BALLS = 10
CONTEXTS = (
    (2, 0), (2, 2), (4, 1), (4, 2), (4, 3),
    (8, 0), (8, 2), (8, 4), (8, 6), (8, 8),
    (10, 2), (10, 3), (10, 5), (10, 7), (10, 8),
)
# Authors' codes -> the words participants read, in scale order.
SIMPLE_CODES = {
    "certainlyNot": "certainly not",
    "probablyNot": "probably not",
    "possibly": "possibly",
    "probably": "probably",
    "certainly": "certainly",
}
SIMPLE_EXPRESSIONS = tuple(SIMPLE_CODES.values())
OUTER_CODES = {"is": "is", "is_probably": "is probably", "might_be": "might be", "is_certainly": "is certainly"}
OUTER = tuple(OUTER_CODES.values())
INNER = ("probable", "possible", "unlikely", "likely")
# The interpretation studies only used the 12 merged expressions (no "probable").
INNER_INTERPRETATION = ("possible", "unlikely", "likely")
# Every (access, observation) answer a listener could give: access 1-10,
# observation 0-access (65 pairs, the authors' value space).
ACCESS_OBSERVATION_GRID = tuple((a, o) for a in range(1, N_BALLS + 1) for o in range(a + 1))

SIMPLE_PARAM_COLUMNS = {
    "alpha": "alpha",
    "beta": "beta",
    "lambda": "lambda",
    "theta.possibly": "theta_possibly",
    "theta.probably": "theta_probably",
    "theta.certainly": "theta_certainly",
    "alpha_ax": "alpha_access",
    "beta_ax": "beta_access",
}
COMPLEX_PARAM_COLUMNS = {
    "alpha": "alpha",
    "beta": "beta",
    "lambda": "lambda",
    "thetapossible": "theta_possible",
    "thetalikely": "theta_likely",
    "thetamight": "theta_might",
    "thetaprobably": "theta_probably",
    "thetacertainly": "theta_certainly",
    "alphaax": "alpha_access",
    "betaax": "beta_access",
}

OUTPUT_FILES = (
    "simple_production.csv",
    "complex_production.csv",
    "simple_interpretation_state.csv",
    "simple_interpretation_access_observation.csv",
    "complex_interpretation_state.csv",
    "complex_interpretation_access_observation.csv",
    "rsa_simple_params.csv",
    "rsa_complex_params.csv",
)


def uncertainty_level(access: int) -> str:
    """The authors' higher-order uncertainty level: none (access 10), low (8), high (2, 4)."""
    # Same rule as the authors' clean_explore.r: access==10 none, access>5 low, else high.
    return "none" if access == N_BALLS else ("low" if access > N_BALLS // 2 else "high")


def _read(path: Path, *, sep: str) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"missing authors' file {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter=sep))


def _int(text: str, *, what: str) -> int:
    value = float(text)  # the files store some integers as "6.0"
    if value != int(value):
        raise ValueError(f"non-integer {what}: {text!r}")
    return int(value)


def _csv_text(header: tuple[str, ...], rows: list[tuple]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _context_of(row: dict[str, str]) -> tuple[int, int]:
    context = (_int(row["access"], what="access"), _int(row["observation"], what="observation"))
    if context not in CONTEXTS:
        raise ValueError(f"unexpected production context {context}")
    return context


def simple_production(rows: list[dict[str, str]]) -> str:
    counts = {(c, e): 0 for c in CONTEXTS for e in SIMPLE_EXPRESSIONS}
    for row in rows:
        counts[_context_of(row), SIMPLE_CODES[row["answer"]]] += 1
    out = []
    for c in CONTEXTS:
        n = sum(counts[c, e] for e in SIMPLE_EXPRESSIONS)
        out += [(c[0], c[1], uncertainty_level(c[0]), e, counts[c, e], n) for e in SIMPLE_EXPRESSIONS]
    return _csv_text(("access", "observation", "uncertainty", "expression", "count", "n"), out)


def complex_production(rows: list[dict[str, str]]) -> str:
    # Unmerged: answer1 (outer) x answer2 (inner, with "probable" kept apart).
    counts = {(c, o, i): 0 for c in CONTEXTS for o in OUTER for i in INNER}
    for row in rows:
        inner = row["answer2"]
        if inner not in INNER:
            raise ValueError(f"unexpected inner expression {inner!r}")
        counts[_context_of(row), OUTER_CODES[row["answer1"]], inner] += 1
    out = []
    for c in CONTEXTS:
        n = sum(counts[c, o, i] for o in OUTER for i in INNER)
        out += [(c[0], c[1], uncertainty_level(c[0]), o, i, counts[c, o, i], n) for o in OUTER for i in INNER]
    return _csv_text(("access", "observation", "uncertainty", "outer", "inner", "count", "n"), out)


def _split_complex(code: str) -> tuple[str, str]:
    # "is likely", "is_probably likely", "might_be unlikely", ...
    outer, inner = code.split(" ")
    if inner not in INNER_INTERPRETATION:
        raise ValueError(f"unexpected inner expression {inner!r}")
    return OUTER_CODES[outer], inner


def _interpretation(rows, keys, key_of, key_columns) -> tuple[str, str]:
    """State table and (access, observation) table for one interpretation study."""
    state = {(k, s): 0 for k in keys for s in range(N_BALLS + 1)}
    joint = {(k, a, o): 0 for k in keys for a, o in ACCESS_OBSERVATION_GRID}
    for row in rows:
        key = key_of(row["expression"])
        if row["kind"] == "f":  # "How many red balls do you think there are in the urn?"
            s = _int(row["state"], what="state")
            if (key, s) not in state:
                raise ValueError(f"state answer {s} outside 0-{N_BALLS}")
            state[key, s] += 1
        elif row["kind"] == "c":  # "How many balls has the sender drawn / how many red?"
            a, o = _int(row["access"], what="access"), _int(row["observation"], what="observation")
            if (key, a, o) not in joint:
                raise ValueError(f"access/observation answer {(a, o)} outside the grid")
            joint[key, a, o] += 1
        else:
            raise ValueError(f"unexpected trial kind {row['kind']!r}")
    state_rows, joint_rows = [], []
    for k in keys:
        n = sum(state[k, s] for s in range(N_BALLS + 1))
        state_rows += [(*k, s, state[k, s], n) for s in range(N_BALLS + 1)]
        n = sum(joint[k, a, o] for a, o in ACCESS_OBSERVATION_GRID)
        joint_rows += [(*k, a, o, joint[k, a, o], n) for a, o in ACCESS_OBSERVATION_GRID]
    return (
        _csv_text((*key_columns, "red_balls", "count", "n"), state_rows),
        _csv_text((*key_columns, "access", "observation", "count", "n"), joint_rows),
    )


def _hdi(samples: list[float], mass: float = 0.95) -> tuple[float, float]:
    """Shortest interval holding `mass` of the samples (Kruschke's HDIofMCMC)."""
    xs = sorted(samples)
    width = math.ceil(mass * len(xs))
    starts = range(len(xs) - width + 1)
    best = min(starts, key=lambda i: xs[i + width - 1] - xs[i])
    return xs[best], xs[best + width - 1]


def _fmt(x: float) -> str:
    return f"{x:.6f}"


def simple_params(rows: list[dict[str, str]]) -> str:
    out = []
    for src, name in SIMPLE_PARAM_COLUMNS.items():
        xs = [float(r[src]) for r in rows]
        low, high = _hdi(xs)
        out.append((name, _fmt(math.fsum(xs) / len(xs)), _fmt(low), _fmt(high)))
    return _csv_text(("parameter", "posterior_mean", "low", "high"), out)


def complex_params(rows: list[dict[str, str]]) -> str:
    by_var = {r["var"]: r for r in rows}
    out = [
        (name, _fmt(float(by_var["mean"][src])), _fmt(float(by_var["lower"][src])), _fmt(float(by_var["upper"][src])))
        for src, name in COMPLEX_PARAM_COLUMNS.items()
    ]
    return _csv_text(("parameter", "posterior_mean", "low", "high"), out)


def build_tables(authors_clean: Path) -> dict[str, str]:
    """Return ``{file name: CSV text}`` for every table in ``OUTPUT_FILES``."""
    d = Path(authors_clean)
    simple_inter = _read(d / "1.simple_clean_interpretation_data.csv", sep=",")
    complex_inter = _read(d / "2.complex_clean_interpretation_data.csv", sep=";")
    s_state, s_joint = _interpretation(
        simple_inter, [(e,) for e in SIMPLE_EXPRESSIONS], lambda code: (SIMPLE_CODES[code],), ("expression",)
    )
    c_state, c_joint = _interpretation(
        complex_inter, [(o, i) for o in OUTER for i in INNER_INTERPRETATION], _split_complex, ("outer", "inner")
    )
    tables = {
        "simple_production.csv": simple_production(_read(d / "1.simple_clean_production_data.csv", sep=",")),
        "complex_production.csv": complex_production(_read(d / "2.complex_clean_production_data.csv", sep=";")),
        "simple_interpretation_state.csv": s_state,
        "simple_interpretation_access_observation.csv": s_joint,
        "complex_interpretation_state.csv": c_state,
        "complex_interpretation_access_observation.csv": c_joint,
        "rsa_simple_params.csv": simple_params(_read(d / "1.simple_df_samples_posterior_params.csv", sep=",")),
        "rsa_complex_params.csv": complex_params(_read(d / "2.complex_variables_parameters.csv", sep=",")),
    }
    assert tuple(tables) == OUTPUT_FILES
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("authors_clean", type=Path, help="folder with the authors' cleaned files")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = parser.parse_args(argv)
    tables = build_tables(args.authors_clean)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.out / name} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
