"""invoke puzzle in real containers: the kernel's final tree against the kit's Linux model.

Each run goes through `invoke puzzle` as a student types it; the real tree is read from
result.json (its ``final`` snapshot, by role), never from the model itself.
"""

from __future__ import annotations

import json

import pytest

from forklab import puzzle
from forklab.puzzle import REAPER

pytestmark = pytest.mark.docker


def _result(cli, name: str) -> dict:
    return json.loads((cli.reports / name / "result.json").read_text(encoding="utf-8"))


def _real(document: dict) -> tuple[dict, dict]:
    """(name -> parent role, name -> alive/zombie/reaped) as the ``final`` snapshot shows them."""
    snap = next(s for s in document["snapshots"] if s["checkpoint"] == "final")
    rows = {row["role"]: row for row in snap["processes"]}
    names = [role for role in document["roles"] if len(role) == 1]
    parent = {name: rows[name]["parent_role"] for name in names if name in rows}
    state = {name: ("zombie" if rows[name]["state"] == "Z" else "alive") if name in rows else "reaped"
             for name in names}
    return parent, state


def test_seed_4_its_tree_written_out_by_hand(cli, no_leftovers):
    # a forks b, a forks c, b forks d, d exits, a forks e.
    # d exits under b, which never reaps while the puzzle runs: a zombie of b.
    # fork.py -s 4 -c says a -> b, c, e; the living agree, and fork.py has no zombie d.
    code, out, err = cli("puzzle", "--seed", "4")
    assert code == 0, out + err
    document = _result(cli, "puzzle-4")
    parent, state = _real(document)
    assert parent == {"a": REAPER, "b": "a", "c": "a", "d": "b", "e": "a"}
    assert state == {"a": "alive", "b": "alive", "c": "alive", "d": "zombie", "e": "alive"}
    assert document["stdout"].splitlines() == ["a forks b", "a forks c", "b forks d", "d exits", "a forks e"]
    assert document["status"] == "passed" and document["puzzle"]["real_matches_model"]
    assert "The real final tree (snapshot 'final'):\n  reaper\n  └── a\n      ├── b\n      │   └── d (zombie)\n" in out
    folder = cli.reports / "puzzle-4"
    assert (folder / "puzzle.py").read_text(encoding="utf-8") == puzzle.program(puzzle.generate(4), 4)
    assert "d (of b)" in (folder / "puzzle.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("seed, actions, reparent", [(1, "5", ""), (1, "5", "local"), (7, "30", ""),
                                                     (7, "30", "local")])
def test_the_real_tree_is_the_linux_model_and_the_same_when_repeated(cli, no_leftovers, seed, actions, reparent):
    argv = ["puzzle", "--seed", str(seed), "--actions", actions] + (["--reparent", reparent] if reparent else [])
    local = reparent == "local"
    model = puzzle.linux(puzzle.generate(seed, int(actions)), local)
    name = puzzle.report_name(seed, int(actions), 70, local)
    seen = []
    for _ in range(2):
        code, out, err = cli(*argv)
        assert code == 0, out + err
        parent, state = _real(_result(cli, name))
        assert parent == model.parent and state == model.state
        seen.append((parent, state, (cli.reports / name / "puzzle.md").read_bytes()))
    assert seen[0] == seen[1]


def test_seed_1_where_linux_and_fork_py_differ(cli, no_leftovers):
    # a forks b, a forks c, c forks d, a forks e, c exits.
    # fork.py: d goes to a. Linux: d goes to the reaper; c is a zombie of a.
    # With --reparent local every process is a subreaper, so d goes to a, as fork.py -R says.
    code, out, err = cli("puzzle", "--seed", "1", "--answer", "b=a d=a e=a")
    assert code == 0, out + err
    parent, state = _real(_result(cli, "puzzle-1"))
    assert parent == {"a": REAPER, "b": "a", "c": "a", "d": REAPER, "e": "a"} and state["c"] == "zombie"
    assert "✗ you said b=a d=a e=a; the run shows b=a d=reaper e=a" in out
    assert "fork.py gives d to a; Linux gives it to the reaper" in out
    code, out, err = cli("puzzle", "--seed", "1", "--reparent", "local", "--answer", "b=a,d=a,e=a")
    assert code == 0, out + err
    parent, state = _real(_result(cli, "puzzle-1-local"))
    assert parent == {"a": REAPER, "b": "a", "c": "a", "d": "a", "e": "a"} and state["c"] == "zombie"
    assert "✓ you said b=a d=a e=a" in out
    assert "fork.py's answer (b=a d=a e=a) would have been graded right too." in out
    prediction = _result(cli, "puzzle-1-local")["predictions"][0]
    assert prediction["right"] and prediction["observed"] == "b=a d=a e=a"


@pytest.mark.parametrize("argv, says", [
    (["--actions", "x"], "forklab: --actions x: give a whole number from 1 to 30"),
    (["--actions", "100000"], "forklab: --actions 100000: give a whole number from 1 to 30"),
    (["--reparent", "global"], "forklab: --reparent global: the only choice is local"),
    (["--answer", "b=z"], "forklab: --answer 'b=z': 'z' is not a process of this puzzle"),
])
def test_bad_input_is_one_line_and_exit_2(cli, argv, says):
    code, out, err = cli("puzzle", "--seed", "4", *argv)
    assert code == 2
    assert err.strip().startswith(says) and len(err.strip().splitlines()) == 1
    assert not (cli.reports / "puzzle-4").exists()
