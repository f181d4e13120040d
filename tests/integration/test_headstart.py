"""`invoke lab N`'s head start (forklab/host/headstart.py) with a real engine: the containers of the
last plain run start before the host has imported the rest, and the run adopts each only if it is
what it would have created."""

from __future__ import annotations

import json
import shutil

import pytest

from forklab.host import headstart
from forklab.settings import DEFAULTS
from tests.support import ROOT

IMAGE_SETTINGS = (DEFAULTS["base_image"], DEFAULTS["mirror"])


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A labs folder with lab 3 in it, its own reports and its own cache."""
    labs = tmp_path / "labs"
    labs.mkdir()
    shutil.copytree(ROOT / "labs" / "03-zombies-and-orphans", labs / "03-zombies-and-orphans")
    shutil.copy(ROOT / "labs" / "claims.yaml", labs / "claims.yaml")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return labs, tmp_path / "reports"


def run(labs, reports, head) -> tuple[int, str]:
    from forklab import commands
    from forklab.console import Terminal
    from forklab.settings import Settings

    settings = Settings.from_config({"labs_dir": str(labs), "reports_dir": str(reports)}, ROOT)
    code, message = commands.guarded(lambda: commands.run_lab(settings, "3", Terminal(), head=head))
    assert code == 0, message
    return code, (reports / "lab-03" / "normalized.md").read_text(encoding="utf-8")


def begin(labs):
    return headstart.begin(labs, "3", IMAGE_SETTINGS)


def adoptions(head, monkeypatch) -> list:
    taken: list = []
    original = head.take

    def take(runs, args):
        result = original(runs, args)
        taken.append((runs, result is not None))
        return result

    monkeypatch.setattr(head, "take", take)
    return taken


def test_a_second_plain_run_adopts_the_container_its_head_start_made(engine, no_leftovers, course, monkeypatch):
    labs, reports = course
    first = begin(labs)
    assert first is not None and first.started == {}, "no plan yet: nothing started"
    _, before = run(labs, reports, first)
    second = begin(labs)
    assert sorted(second.started) == [("pid1-never-waits",), ("reaper",)], "a container for each of lab 3's runs"
    taken = adoptions(second, monkeypatch)
    _, after = run(labs, reports, second)
    assert sorted(taken) == [(("pid1-never-waits",), True), (("reaper",), True)]
    assert after == before, "a run with a head start reports what one without does"


def test_an_edited_lab_gets_no_head_start(engine, no_leftovers, course):
    labs, reports = course
    run(labs, reports, begin(labs))
    with open(labs / "03-zombies-and-orphans" / "lab.py", "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    assert begin(labs).started == {}


def test_a_container_started_from_another_plan_is_removed_and_the_lab_runs_as_usual(engine, no_leftovers, course,
                                                                                   monkeypatch):
    labs, reports = course
    _, before = run(labs, reports, begin(labs))
    folder = labs / "03-zombies-and-orphans"
    key = headstart.plan_key(labs, folder, IMAGE_SETTINGS)
    plan_file = headstart._plan_file(folder)
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    # The same key, but a plan one of whose containers is not what the run creates (another time allowed).
    [changed] = [entry for entry in plan["containers"] if entry["runs"] == ["reaper"]]
    changed["args"]["timeout"] += 1
    headstart.write_plan(folder, key, plan["containers"])
    head = begin(labs)
    stray = head.started[("reaper",)]
    taken = adoptions(head, monkeypatch)
    _, after = run(labs, reports, head)
    assert sorted(taken) == [(("pid1-never-waits",), True), (("reaper",), False)]
    assert after == before
    assert stray.name not in {c.name for c in engine.client.containers.list(all=True)}, "the stray is gone"


def test_what_a_head_start_started_is_removed_when_the_run_never_comes(engine, no_leftovers, course):
    labs, reports = course
    run(labs, reports, begin(labs))
    head = begin(labs)
    names = [each.name for each in head.started.values()]
    assert names
    head.finish(save=False)  # what tasks.py does when the run stops before it ran anything
    assert not set(names) & {c.name for c in engine.client.containers.list(all=True)}
