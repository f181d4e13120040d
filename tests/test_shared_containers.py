"""Which runs share a container (commands.containers_of, Run.container_key), and how one
container's output becomes a record per run (engine._shared_documents, _document_ms)."""

from __future__ import annotations

import threading

import pytest

from forklab import catalog, commands, engine
from tests.support import FIXTURE_LABS, ROOT


def names(lab: catalog.Lab) -> list[list[str]]:
    return [[run.name for run in runs] for runs in commands.containers_of(lab)]


def lab(folder, number: int) -> catalog.Lab:
    return catalog.load_lab(catalog.find_labs(folder)[number])


def test_runs_with_one_sandbox_share_a_container_in_lab_yaml_s_order():
    assert names(lab(ROOT / "labs", 3)) == [["reaper", "pid1-never-waits"]]
    assert names(lab(ROOT / "labs", 23)) == [["hello-four", "x-plus-minus", "and-or", "wait", "loop-wait",
                                              "buffered"]]
    assert names(lab(FIXTURE_LABS, 6)) == [["dirty", "clean"], ["own"]]


def test_spread_deals_a_sandbox_s_runs_over_that_many_containers():
    assert names_spread(lab(ROOT / "labs", 23), 2) == [["hello-four", "and-or", "loop-wait"],
                                                      ["x-plus-minus", "wait", "buffered"]]
    assert names_spread(lab(ROOT / "labs", 3), 2) == [["reaper"], ["pid1-never-waits"]]
    assert names_spread(lab(ROOT / "labs", 3), 5) == [["reaper"], ["pid1-never-waits"]]
    assert names_spread(lab(ROOT / "labs", 8), 2) == [["reaper"], ["pid1-never-waits"], ["python-pid1"],
                                                     ["docker-init"]]
    assert names_spread(lab(ROOT / "labs", 1), 2) == [["default"]]


def names_spread(lab: catalog.Lab, spread: int) -> list[list[str]]:
    return [[run.name for run in runs] for runs in commands.containers_of(lab, spread)]


def test_runs_watched_from_outside_or_measured_as_a_container_have_their_own():
    # Lab 8: python-pid1 and docker-init make the lab (or tini) PID 1; the host watches them.
    assert names(lab(ROOT / "labs", 8)) == [["reaper", "pid1-never-waits"], ["python-pid1"], ["docker-init"]]
    five = lab(ROOT / "labs", 5)
    assert any(getattr(check, "measure", None) == "container" for run in five.runs() for check in run.expect)
    assert all(run.container_key is None for run in five.runs())


def test_command_line_settings_that_differ_per_run_split_nothing_that_was_shared():
    three = lab(ROOT / "labs", 3)
    changed = catalog.Lab(path=three.path, spec=three.spec, archive=three.archive,
                          overrides=catalog.RunOverrides(pids_limit=40))
    assert names(changed) == [["reaper", "pid1-never-waits"]]
    assert {run.container_key for run in changed.runs()} == {(40, 256)}


def test_a_shared_container_s_batch_is_one_document_per_run():
    first, second = {"status": "finished", "duration_ms": 40}, {"status": "timeout", "duration_ms": 60}
    printed = {"status": "finished", "batch": [first, second], "nonce": "n"}
    assert engine._shared_documents(printed, 2) == [{**first, "nonce": "n"}, {**second, "nonce": "n"}]
    # No document, an error before the batch, or a batch of the wrong length: that, for every run.
    assert engine._shared_documents(None, 2) == [None, None]
    error = {"status": "runner-error", "error": "boom", "nonce": "n"}
    assert engine._shared_documents(error, 3) == [error] * 3
    assert engine._shared_documents({**printed, "batch": [first]}, 2) == [{**printed, "batch": [first]}] * 2
    assert engine._shared_documents(first, 1) == [first]


@pytest.mark.parametrize("document, ms", [
    ({"duration_ms": 12.5}, 12.5),
    ({"repeats": [{"duration_ms": 10}, {"duration_ms": 5}, {"oops": 1}]}, 15.0),
    ({"duration_ms": True}, 0.0),
    ({"duration_ms": -3}, 0.0),
    (None, 0.0),
])
def test_a_run_s_own_time_in_a_shared_container(document, ms):
    assert engine._document_ms(document) == ms


def test_runs_of_different_sandboxes_are_refused_one_container():
    eight = lab(ROOT / "labs", 8)
    runs = eight.runs()
    with pytest.raises(ValueError, match="one container_key"):
        engine.Engine.run_together(object(), "image", [(eight, runs[0]), (eight, runs[2])])  # type: ignore[arg-type]


def test_runs_watched_from_outside_do_not_take_a_container_s_turn():
    from concurrent.futures import ThreadPoolExecutor

    # A thread per item.  A run that gets in stays until every thread has come to in_turn, so
    # without turns three or four of the others would be in at once.  The watched runs end only
    # after the others (the waits' timeouts are there only to fail, never to pace).
    watched = [True, True, False, False, False, False]
    items = ["watched", "watched", "a", "b", "c", "d"]
    state = threading.Condition()
    arrived, inside, most, finished = [0], [0], [0], []

    def work(client, item):
        with state:
            if item == "watched":
                assert state.wait_for(lambda: len(finished) == 4, timeout=30), "a watched run held a turn"
                return item
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            assert state.wait_for(lambda: arrived[0] == len(items), timeout=30)
            inside[0] -= 1
            finished.append(item)
            state.notify_all()
        return item

    workers, in_turn = commands.in_turns(2, watched, work)
    assert workers == 4

    def arrive(numbered):
        with state:
            arrived[0] += 1
            state.notify_all()
        return in_turn(None, numbered)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        results = list(pool.map(arrive, enumerate(items)))
    assert results == items and most[0] == 2


def test_one_job_runs_everything_in_turn():
    workers, in_turn = commands.in_turns(1, [True, False], lambda client, item: (client, item))
    assert workers == 1 and in_turn("client", (1, "x")) == ("client", "x")


def every_lab() -> list[catalog.Lab]:
    found = catalog.find_labs(ROOT / "labs")
    return [lab for lab in (catalog.load_lab(path) for path in found.values()) if not lab.missing_solution]


def test_several_labs_share_containers_by_sandbox_and_run_each_run_once():
    labs = every_lab()
    containers = commands.containers_for(labs, 2)
    pairs = [(lab.number, run.name) for container in containers for lab, run in container]
    assert sorted(pairs) == sorted((lab.number, run.name) for lab in labs for run in lab.runs())
    alone = {pairs[0][0].number for pairs in containers if len(pairs) == 1}
    assert {5, 8, 12} <= alone, "measured as a whole container, or watched from outside: a container each"
    for container in containers:
        assert len({run.container_key for _, run in container}) == 1
        assert len(container) <= commands.SHARED_RUNS
        if len(container) > 1:
            assert all(run.container_key is not None for _, run in container)
    assert len(containers) < sum(len(lab.runs()) for lab in labs) / 3
    # The runs of a container follow the labs' order.
    for container in containers:
        numbers = [lab.number for lab, _ in container]
        assert numbers == sorted(numbers)


def test_a_container_s_archives_stay_small_and_one_lab_keeps_its_spread():
    three = lab(ROOT / "labs", 3)
    big = [catalog.Lab(path=three.path, spec=three.spec, archive=bytes(300 * 1024)) for _ in range(4)]
    containers = commands.containers_for(big, 1)
    assert all(sum(len(each.archive or b"") for each in {id(each): each for each, _ in container}.values())
               <= commands.SHARED_ARCHIVE_BYTES for container in containers)
    assert sum(len(container) for container in containers) == 8
    assert [[run.name for _, run in container] for container in commands.containers_for([three], 2, spread=2)] \
        == [["reaper"], ["pid1-never-waits"]]


@pytest.mark.parametrize("record, lost", [
    ({"document": {"status": "finished"}, "timed_out": False}, False),
    ({"document": {"status": "timeout"}, "timed_out": False}, False),  # the lab's own time ran out
    ({"document": {"status": "runner-error", "error": "not run"}, "timed_out": False}, True),
    ({"document": None, "timed_out": False}, True),
    ({"document": {"status": "finished"}, "timed_out": True}, True),
])
def test_what_a_shared_container_lost(record, lost):
    assert commands.lost(record) is lost


def test_a_run_a_shared_container_lost_runs_again_alone():
    three, one = lab(ROOT / "labs", 3), lab(ROOT / "labs", 1)
    pairs = ((three, three.runs()[0]), (one, one.runs()[0]), (three, three.runs()[1]))
    calls = []

    class Client:
        def run_together(self, image_id, together, *args):
            calls.append(("together", [run.name for _, run in together]))
            return [{"document": {"status": "finished", "n": 1}, "timed_out": False},
                    {"document": None, "timed_out": False},
                    {"document": {"status": "finished", "n": 3}, "timed_out": False}]

        def run_lab(self, image_id, lab, run, *args):
            calls.append(("alone", lab.number, run.name))
            return {"document": {"status": "finished", "n": "again"}, "timed_out": False}

    done = commands.run_container(Client(), "image", pairs, "session")
    assert calls == [("together", ["reaper", "default", "pid1-never-waits"]), ("alone", 1, "default")]
    assert [record["document"]["n"] for _, _, record in done] == [1, "again", 3]


def test_a_student_s_program_and_a_script_never_share_a_container():
    import dataclasses

    three = lab(ROOT / "labs", 3)
    submission = dataclasses.replace(three, submission=ROOT / "work" / "03.py")
    script = dataclasses.replace(three, script_name="lab.py")
    assert (three.kind, submission.kind, script.kind) == ("lab", "check", "run")
    for other in (submission, script):
        assert not other.shares_containers
        assert names(other) == [["reaper"], ["pid1-never-waits"]]
        assert [len(pairs) for pairs in commands.containers_for([other, lab(ROOT / "labs", 1)], 1)] == [1, 1, 1]
