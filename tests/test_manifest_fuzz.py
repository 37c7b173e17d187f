"""Property-based fuzzing of manifests: any mutation of a valid manifest is either valid or refused in one line.

Every key of a valid manifest (and the text and bytes of the file) is
mutated: values replaced by other types and by hostile values (NaN, huge
integers, markup, control characters, deep nesting), keys removed, renamed
or added, tables turned into lists, the encoding changed. Each case runs the
real command line in this process with ``--dry-run`` (validation only, no
cell runs) and must end in exit 0, or exit 2 with one ``zoo: error:`` line
and no traceback. ``ZOO_FUZZ_CASES`` sets the number of cases (default 1,000).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.cli import main

VALID = {
    "suite": {"name": "fuzz", "store": "r.sqlite", "device": "cpu", "keep_params": False},
    "defaults": {"matrix": {"seeds": [0, 1]}, "report": "bins"},
    "bench": [
        {"name": "kink", "task": {"name": "kink", "margin": 0.25}, "model": {"name": "mlp", "layers": 1},
         "optimizers": [{"name": "guess_check", "label": "G&C", "target": 2, "max_guesses": 100},
                        {"name": "sgd", "label": "SGD", "lr": 0.1, "epochs": 2, "momentum": 0.5}],
         "matrix": {"n": [4, 8], "bins": [0.3, 0.5, 0.7], "model.hidden": [3, 5]}},
        {"name": "mnist", "report": "side_by_side", "task": {"name": "mnist", "classes": [0, 1]},
         "model": {"name": "lenet", "width": 0.5},
         "optimizers": [{"name": "pattern_search", "budget": 10, "step": 0.5}],
         "matrix": {"n": [2], "seeds": {"from": 0, "count": 3}}},
    ],
}

HOSTILE_TEXT = ["", " ", "[red]x[/red]", "[/]", "a\nb", "\x1b[31m", "\u202e", "é", "../../etc/passwd", "/proc/self/mem",
                "x" * 300, "auto", "cpu", "cuda", "bins", "episodes", "guess_check", "mnist", "lenet", "nan", "1e999"]
scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e-300, 1e300]),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
OUTCOMES: Counter = Counter()


def paths(value, prefix=()):
    """Every key path of a nested manifest, tables and lists alike."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, prefix + (i,))


def toml_value(value, depth=0) -> str:
    """TOML for any value: inline tables and arrays, so any nesting can be written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # TOML basic strings take JSON's escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v, depth + 1)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(manifest) -> str:
    if not isinstance(manifest, dict):
        return f"x = {toml_value(manifest)}\n"
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in manifest.items())


def copy(value):
    return json.loads(json.dumps(value, allow_nan=True))


@st.composite
def mutated(draw) -> bytes:
    manifest = copy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        targets = list(paths(manifest))
        path = draw(st.sampled_from(targets))
        kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "rename", "wrap", "deep"]))
        if not path:
            if kind == "replace":
                manifest = draw(values)
            continue
        parent = manifest
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if kind == "replace":
            parent[key] = draw(values)
        elif kind == "delete":
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(key)
        elif kind == "wrap":
            parent[key] = [parent[key]]
        elif kind == "deep":
            depth = draw(st.sampled_from([30, 40, 300]))
            nested = parent[key]
            for _ in range(depth):
                nested = [nested]
            parent[key] = nested
            break  # the generator's own recursion stays shallow; deeper input is tested in test_hostile_manifests
    text = to_toml(manifest)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "bytes"]))
    if encoding == "bytes":  # damage the bytes themselves
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 4))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return text.encode(encoding, errors="replace")


def run_dry(data: bytes) -> tuple[int, str, str]:
    """``zoo bench --dry-run`` on a manifest file holding ``data``; returns the exit code, stdout and stderr."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.toml"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["bench", str(path), "--dry-run"])
        assert not (Path(folder) / "r.sqlite").exists()  # validation never writes a store
    return code, out.getvalue(), err.getvalue()


def test_the_unmutated_manifest_is_valid():
    code, out, err = run_dry(to_toml(VALID).encode())
    assert code == 0 and "35 cells, 35 to run" in out + err, err


@settings(max_examples=int(os.environ.get("ZOO_FUZZ_CASES", "1000")), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=mutated())
def test_mutated_manifests_are_valid_or_refused_in_one_line(data):
    code, _, err = run_dry(data)
    if code == 0:
        OUTCOMES["valid"] += 1
        return
    messages = err.strip().splitlines()
    assert code == 2, err
    assert len(messages) == 1 and messages[0].startswith("zoo: error: "), err
    assert "Traceback" not in err
    OUTCOMES["refused"] += 1


def test_outcomes_are_recorded():
    """Runs after the fuzzer in this module: the counts, for the record (and a file when ZOO_FUZZ_REPORT is set)."""
    total = sum(OUTCOMES.values())
    if os.environ.get("ZOO_FUZZ_REPORT"):
        Path(os.environ["ZOO_FUZZ_REPORT"]).write_text(json.dumps(dict(OUTCOMES, total=total)))
    assert total == 0 or OUTCOMES["refused"] > 0
