"""Variants with the same sandbox share one container, one after another, and each sees it as new
(tests/fixtures/labs/06-shared-container: `dirty` leaves files, a read-only folder and a sleeping
orphan; `clean` runs next in the same container; `own` has another pids limit, so its own)."""

from __future__ import annotations

import json

import pytest

from tests.integration.support import variant
from tests.support import FIXTURE_LABS


@pytest.fixture(scope="module")
def labs_5_and_6(engine, tmp_path_factory):
    """Labs 5 and 6 as `invoke labs --jobs 1` runs them: their runs of one sandbox in one container
    (lab 5's closed and leaky, then lab 6's dirty and clean), each run with its own lab's files."""
    from forklab import commands
    from forklab.console import Terminal
    from forklab.settings import Settings

    reports = tmp_path_factory.mktemp("reports")
    settings = Settings.from_config({"labs_dir": str(FIXTURE_LABS), "reports_dir": str(reports)}, FIXTURE_LABS)
    five, six = commands.select_labs(settings, ["5", "6"])
    shared = [[(lab.number, run.name) for lab, run in pairs] for pairs in commands.containers_for([five, six], 1)]
    assert [(5, "closed"), (5, "leaky"), (6, "dirty"), (6, "clean")] in shared
    outcomes = commands.execute(settings, [five, six], Terminal(), jobs=1)
    for outcome in outcomes:
        assert outcome.document["status"] == "passed", outcome.document
    return [json.loads(json.dumps(outcome.document)) for outcome in outcomes]


@pytest.fixture(scope="module")
def lab_6(labs_5_and_6):
    return labs_5_and_6[1]


def test_runs_of_two_labs_in_one_container_each_run_their_own_lab(labs_5_and_6):
    five, six = labs_5_and_6
    assert variant(five, "closed")["stdout"].splitlines()[0] == "variant=closed mode=careful args=--close-write-end"
    assert variant(six, "dirty")["stdout"].splitlines()[-1] == "done dirty"


def seen(result: dict, name: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in variant(result, name)["stdout"].splitlines())


def test_variants_with_one_sandbox_run_in_one_container_and_others_in_their_own(lab_6):
    containers = {name: seen(lab_6, name)["container"] for name in ("dirty", "clean", "own")}
    assert containers["dirty"] == containers["clean"] != containers["own"]


def test_invoke_lab_spreads_a_lab_s_runs_over_two_containers(engine, no_leftovers, tmp_path):
    from forklab import commands
    from forklab.console import Terminal
    from forklab.settings import Settings

    settings = Settings.from_config({"labs_dir": str(FIXTURE_LABS), "reports_dir": str(tmp_path)}, FIXTURE_LABS)
    code, message = commands.guarded(lambda: commands.run_lab(settings, "6", Terminal()))
    assert code == 0, message
    result = json.loads((tmp_path / "lab-06" / "result.json").read_text(encoding="utf-8"))
    containers = {name: seen(result, name)["container"] for name in ("dirty", "clean", "own")}
    assert len(set(containers.values())) == 3
    assert seen(result, "clean")["tmp"] == "[]"


def test_the_next_variant_sees_nothing_the_one_before_left(lab_6):
    # What dirty left: /tmp/mark, /tmp/locked (read-only), /dev/shm/mark, a file in the lab's
    # folder and an orphan running `sleep 60`.
    assert seen(lab_6, "clean") == {**seen(lab_6, "clean"), "others": "[]", "tmp": "[]", "shm": "[]",
                                    "folder": "['lab.py', 'lab.yaml']", "done": "clean"}
    assert seen(lab_6, "dirty")["done"] == "dirty"


def test_each_shared_run_keeps_its_own_document_and_time(lab_6):
    dirty, clean = variant(lab_6, "dirty"), variant(lab_6, "clean")
    assert dirty["status"] == clean["status"] == "passed"
    # Only dirty's run had an orphan to adopt: the documents are not one copied to both.
    assert "adopt" in {event["event"] for event in dirty["events"]}
    assert "adopt" not in {event["event"] for event in clean["events"]}
    for run in (dirty, clean):
        assert 0 < run["timing"]["lab_ms"] <= run["timing"]["container_ms"]
