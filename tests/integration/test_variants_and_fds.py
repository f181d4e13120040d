"""A variant's env and args, and the fds and pgid checks, on a fixture lab in real containers
(tests/fixtures/labs/05-variants-and-fds: the runner inside, and the lab's python as PID 1 watched from outside)."""

from __future__ import annotations

import json

import pytest

from tests.integration.support import rows_at, variant
from tests.support import FIXTURE_LABS


@pytest.fixture(scope="module")
def lab_5(engine, tmp_path_factory):
    from forklab import commands
    from forklab.console import Terminal
    from forklab.settings import Settings

    reports = tmp_path_factory.mktemp("reports")
    settings = Settings.from_config({"labs_dir": str(FIXTURE_LABS), "reports_dir": str(reports)}, FIXTURE_LABS)
    code, message = commands.guarded(lambda: commands.run_lab(settings, "5", Terminal()))
    assert code == 0, message or f"lab 5 did not pass; see {reports}"
    folder = reports / "lab-05"
    return json.loads((folder / "result.json").read_text(encoding="utf-8")), folder


def test_each_variant_runs_with_its_own_name_env_and_args(lab_5):
    result, _ = lab_5
    lines = {name: variant(result, name)["stdout"].splitlines()[0] for name in ("closed", "leaky", "outside")}
    assert lines == {"closed": "variant=closed mode=careful args=--close-write-end",
                     "leaky": "variant=leaky mode=- args=--own-group two words",
                     "outside": "variant=outside mode=outside args=--close-write-end"}
    leaky = variant(result, "leaky")
    assert rows_at(leaky, "reading")["writer"]["command"] == "python3 lab.py --own-group two words"


@pytest.mark.parametrize("name", ["closed", "leaky", "outside"])
def test_a_snapshot_shows_who_holds_which_end_of_the_pipe(lab_5, name):
    result, _ = lab_5
    run = variant(result, name)
    rows = rows_at(run, "reading")
    reader = {fd["fd"]: fd for fd in rows["reader"]["fds"]}
    writer = {fd["fd"]: fd for fd in rows["writer"]["fds"]}
    pipe = reader[3]["target"]
    assert pipe.startswith("pipe:[") and reader[3]["mode"] == "r"
    # The writer closed its read end; its write end is fd 4, the same pipe.
    assert writer[4] == {"fd": 4, "target": pipe, "mode": "w"}
    assert [fd["mode"] for fd in writer.values() if fd["target"] == pipe] == ["w"]
    ends = sorted(fd["mode"] for fd in rows["reader"]["fds"] if fd["target"] == pipe)
    assert ends == (["r", "w"] if name == "leaky" else ["r"])
    assert all(check["passed"] for check in run["checks"]), run["checks"]


def test_process_groups(lab_5):
    result, _ = lab_5
    for name, own in (("closed", False), ("leaky", True), ("outside", False)):
        rows = rows_at(variant(result, name), "reading")
        assert (rows["reader"]["pgid"] == rows["reader"]["pid"]) is own
        assert (rows["reader"]["pgid"] == rows["writer"]["pgid"]) is not own


def test_the_report_names_pipes_by_role_and_never_by_inode(lab_5):
    result, folder = lab_5
    normalized = (folder / "normalized.md").read_text(encoding="utf-8")
    report = (folder / "report.md").read_text(encoding="utf-8")
    inodes = {fd["target"] for run in result["variants"] for s in run["snapshots"] for r in s["processes"]
              for fd in r.get("fds") or [] if fd["target"].startswith("pipe:[")}
    assert inodes
    for inode in inodes:
        assert inode not in normalized and inode not in report
    # The pipe main made, named after its first holder's descriptor: the writer's fd 4, its write end.
    assert ", 3 pipe:[writer:4] (r), 4 pipe:[writer:4] (w), " in normalized  # the leaky reader holds both ends
