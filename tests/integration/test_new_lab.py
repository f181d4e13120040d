"""`invoke new N slug` makes a lab that `invoke lab N` runs and passes at once, in a real container."""

from __future__ import annotations

import json

from tests.support import ROOT


def test_a_new_lab_runs_and_passes_as_it_is(engine, no_leftovers, cli, tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "claims.yaml").write_text((ROOT / "labs" / "claims.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = cli("new", "21", "first-fork", labs=labs)
    assert code == 0, out + err
    code, out, err = cli("lab", "21", labs=labs)
    assert code == 0, out + err
    result = json.loads((cli.reports / "lab-21" / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "passed" and len(result["checks"]) == 4
    zombie = next(s for s in result["snapshots"] if s["checkpoint"] == "child-exited")
    [child] = [row for row in zombie["processes"] if row["role"] == "child"]
    assert child["state"] == "Z"
    assert result["stdout"] == "child: running\nparent: reaped the child\n"
