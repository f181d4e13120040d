"""invoke puzzle without Docker: fork.py's actions from a seed, its answer and Linux's, the
program that plays them, predictions and options.

The small cases below are worked out by hand in the comments beside them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from forklab import puzzle
from forklab.errors import UsageError
from forklab.puzzle import REAPER, Action, linux, parse_actions, simulate
from tests.support import ROOT, linux_only

# -- generating -----------------------------------------------------------------------------------

def test_seed_4_draws_the_actions_of_fork_py_s_own_readme():
    # cpu-api/README-fork.md: `./fork.py -s 4 -c` (5 actions, 70% forks).
    assert [a.fork_py() for a in puzzle.generate(4)] == [
        "a forks b", "a forks c", "b forks d", "d EXITS", "a forks e"]


def test_the_same_seed_gives_the_same_actions_and_the_same_program_text():
    for seed in (0, 1, 4, 99, puzzle.MAX_SEED):
        one, two = puzzle.generate(seed, 20, 60), puzzle.generate(seed, 20, 60)
        assert one == two
        assert puzzle.program(one, seed, 60, False) == puzzle.program(two, seed, 60, False)
        assert puzzle.program(one, seed, 60, True) == puzzle.program(two, seed, 60, True)
    assert puzzle.generate(1) != puzzle.generate(2)


@pytest.mark.parametrize("count", [1, 5, 17, puzzle.MAX_ACTIONS])
def test_as_many_actions_as_asked_the_root_never_exits_and_only_living_processes_act(count):
    for seed in range(30):
        actions = puzzle.generate(seed, count)
        assert len(actions) == count
        living = ["a"]
        for action in actions:
            assert action.actor in living
            if action.is_fork:
                living.append(action.child)
            else:
                assert action.actor != "a"
                living.remove(action.actor)
        assert puzzle.processes(actions) == list("abcdefghijklmnopqrstuvwxyzABCDEF"[:len(puzzle.processes(actions))])


def test_the_fork_percentage_sets_how_many_actions_are_forks():
    def forks(percent: int) -> int:
        return sum(a.is_fork for seed in range(100) for a in puzzle.generate(seed, 20, percent))

    assert forks(100) == 2000                      # nothing but forks
    assert forks(10) < forks(50) < forks(90)
    assert 1200 < forks(70) < 1700                 # about 70% (exits drawn for a are drawn again)


# -- fork.py's answer (hand-worked) ----------------------------------------------------------------

def test_fork_py_readme_example_with_an_action_list():
    # README-fork.md: -A a+b,b+c,c-,a+d gives a with children b and d.
    tree = simulate(parse_actions("a+b,b+c,c-,a+d"))
    assert tree.living() == {"a": REAPER, "b": "a", "d": "a"}
    assert puzzle.draw(tree) == ["a", "├── b", "└── d"]


def test_fork_py_without_r_gives_the_whole_subtree_to_a():
    # a forks b, b forks c, c forks d, b exits: c AND d (a grandchild of b) go to a;
    # the subtree is flattened, so d is no longer c's child.
    tree = simulate(parse_actions("a+b,b+c,c+d,b-"))
    assert tree.living() == {"a": REAPER, "c": "a", "d": "a"}
    assert puzzle.draw(tree) == ["a", "├── c", "└── d"]


def test_fork_py_with_r_moves_only_the_children_to_the_exiting_process_s_parent():
    # a forks b, b forks c, c forks d, c forks e, c exits: d and e go to b (c's parent).
    tree = simulate(parse_actions("a+b,b+c,c+d,c+e,c-"), local=True)
    assert tree.living() == {"a": REAPER, "b": "a", "d": "b", "e": "b"}
    # ... and then b exits: d and e go on up to a.
    tree = simulate(parse_actions("a+b,b+c,c+d,c+e,c-,b-"), local=True)
    assert tree.living() == {"a": REAPER, "d": "a", "e": "a"}


def test_fork_py_has_no_zombies():
    tree = simulate(parse_actions("a+b,b-"))
    assert tree.living() == {"a": REAPER} and tree.zombies() == {} and tree.state["b"] == "gone"


# -- Linux's answer (hand-worked) ------------------------------------------------------------------

def test_linux_without_subreapers_where_it_differs_from_fork_py():
    # a forks b, b forks c, c forks d, b exits.
    # Linux: only b's own child c moves, to the reaper (no subreaper above it); d stays
    # c's child; b is a zombie of a, which never reaps. fork.py: c and d both under a.
    actions = parse_actions("a+b,b+c,c+d,b-")
    tree = linux(actions)
    assert tree.living() == {"a": REAPER, "c": REAPER, "d": "c"}
    assert tree.zombies() == {"b": "a"}
    assert puzzle.draw_real(tree) == ["reaper", "├── a", "│   └── b (zombie)", "└── c", "    └── d"]
    sentences = puzzle.differences(actions, local=False)
    assert sentences[0].startswith("fork.py gives c to a; Linux gives it to the reaper")
    assert "so d under c, not a" in sentences[1]
    assert "b (of a)" in sentences[2]


def test_linux_the_reaper_reaps_what_comes_to_it():
    # a forks b, b forks c, b exits (c to the reaper), c exits: the reaper reaps c at once.
    tree = linux(parse_actions("a+b,b+c,b-,c-"))
    assert tree.state == {"a": "alive", "b": "zombie", "c": "reaped"}
    assert tree.parent == {"a": REAPER, "b": "a"}
    # a forks b, b forks c, c exits (a zombie of b), b exits: zombie c goes to the reaper,
    # which reaps it; b is a zombie of a.
    tree = linux(parse_actions("a+b,b+c,c-,b-"))
    assert tree.state == {"a": "alive", "b": "zombie", "c": "reaped"}


def test_linux_with_local_subreapers_agrees_with_fork_py_r_on_the_living():
    # a forks b, b forks c, c forks d, c forks e, c exits, b exits.
    # Every process is a subreaper: d and e go to b (c's parent), then on b's exit to a;
    # zombie c goes with them to a. fork.py -R has the same living tree, and no zombies.
    actions = parse_actions("a+b,b+c,c+d,c+e,c-,b-")
    tree = linux(actions, local=True)
    assert tree.living() == simulate(actions, local=True).living() == {"a": REAPER, "d": "a", "e": "a"}
    assert tree.zombies() == {"b": "a", "c": "a"}
    assert puzzle.differences(actions, local=True) == [
        "fork.py drops an exited process at once; Linux keeps it as a zombie until its parent reaps it, and "
        "these parents never do while the puzzle runs: b (of a), c (of a)"]


def test_with_local_subreapers_linux_and_fork_py_r_always_agree_on_the_living():
    for seed in range(200):
        actions = puzzle.generate(seed, 15)
        assert linux(actions, True).living() == simulate(actions, True).living()


def test_a_puzzle_with_forks_only_is_the_same_tree_for_both():
    actions = puzzle.generate(3)  # a+b, b+c, a+d, d+e, b+f: no exit
    assert all(action.is_fork for action in actions)
    assert linux(actions).living() == simulate(actions).living()
    assert puzzle.differences(actions, local=False) == []


# -- predictions -----------------------------------------------------------------------------------

def test_a_prediction_takes_spaces_commas_and_names_for_the_reaper():
    names = list("abcde")
    assert puzzle.parse_prediction("b=a c=reaper", names) == {"b": "a", "c": REAPER}
    assert puzzle.parse_prediction(" b=a,c=init ;e=1 ", names) == {"b": "a", "c": REAPER, "e": REAPER}
    assert puzzle.parse_prediction("a=reaper,b=a", names) == {"a": REAPER, "b": "a"}


@pytest.mark.parametrize("text, says", [
    ("", "give each living process's parent"),
    ("b", "not NAME=PARENT"),
    ("b:a", "not NAME=PARENT"),
    ("b=a=c", "not NAME=PARENT"),
    ("z=a", "'z' is not a process of this puzzle"),
    ("b=zz", "'zz' is not a process"),
    ("b=a b=c", "b is given twice"),
    ("b=b", "b cannot be its own parent"),
])
def test_nonsense_predictions_are_refused_with_a_sentence(text, says):
    with pytest.raises(ValueError, match=says):
        puzzle.parse_prediction(text, list("abcde"))


def test_grading_against_the_real_tree():
    living = {"a": REAPER, "b": "a", "d": REAPER}
    assert puzzle.graded({"b": "a", "d": REAPER}, living)
    assert puzzle.graded({"a": REAPER, "b": "a", "d": REAPER}, living)
    assert not puzzle.graded({"b": "a", "d": "a"}, living)            # fork.py's answer
    assert not puzzle.graded({"b": "a"}, living)                       # d left out
    assert not puzzle.graded({"b": "a", "d": REAPER, "c": "a"}, living)  # c exited
    assert not puzzle.graded({"a": "b", "b": "a", "d": REAPER}, living)
    assert puzzle.answer_text({"d": REAPER, "b": "a"}) == "b=a d=reaper"


def test_asking_again_until_the_answer_makes_sense():
    answers = iter(["nonsense", "q=a", "b=a c=reaper"])
    said = []
    assert puzzle.ask(list("abc"), lambda prompt: next(answers), said.append) == {"b": "a", "c": REAPER}
    assert len(said) == 2 and all("try again" in line for line in said)

    def closed(prompt):
        raise EOFError

    with pytest.raises(UsageError, match="no prediction given"):
        puzzle.ask(list("abc"), closed, said.append)


# -- options ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, actions, forks, reparent, says", [
    ("-1", "", "", "", "--seed -1: give a whole number from 0 to 2147483647"),
    ("99999999999999999999", "", "", "", "--seed 99999999999999999999: give a whole number"),
    ("2147483648", "", "", "", "--seed 2147483648: give a whole number from 0 to 2147483647"),
    ("x", "", "", "", "--seed x:"),
    ("²", "", "", "", "--seed ²:"),
    ("4", "100000", "", "", "--actions 100000: give a whole number from 1 to 30"),
    ("4", "0", "", "", "--actions 0:"),
    ("4", "x", "", "", "--actions x:"),
    ("4", "", "0", "", "--forks 0: give a whole number from 1 to 100"),
    ("4", "", "70.5", "", "--forks 70.5:"),
    ("4", "", "", "global", "--reparent global: the only choice is local"),
])
def test_bad_options_are_one_line_usage_errors(seed, actions, forks, reparent, says):
    with pytest.raises(UsageError) as caught:
        puzzle.options(seed, actions, forks, reparent)
    assert says in caught.value.message and "\n" not in caught.value.message
    assert caught.value.exit_code == 2


def test_options_defaults_and_a_chosen_seed():
    opts = puzzle.options("", "", "", "")
    assert opts.chosen_seed and 0 <= opts.seed < 10000
    assert (opts.actions, opts.forks, opts.local) == (5, 70, False)
    opts = puzzle.options("7", "30", "100", "local")
    assert (opts.seed, opts.actions, opts.forks, opts.local, opts.chosen_seed) == (7, 30, 100, True, False)
    assert puzzle.report_name(4, 5, 70, False) == "puzzle-4"
    assert puzzle.report_name(4, 5, 70, True) == "puzzle-4-local"
    assert puzzle.report_name(4, 12, 50, True) == "puzzle-4-a12-f50-local"


# -- the program -----------------------------------------------------------------------------------

def test_the_program_compiles_and_names_its_actions():
    for local in (False, True):
        text = puzzle.program(puzzle.generate(1), 1, 70, local)
        compile(text, "puzzle.py", "exec")
        assert "    ('a', 'forks', 'b'),\n" in text and "    ('c', 'exits', None),\n" in text
        assert ("LOCAL_REPARENT = True" in text) == local
        assert 'checkpoint("final", **pids)' in text


#: Runs a program as a child subreaper and reaps every process it leaves, so orphans and
#: zombies do not go to this host's init (which may never reap them).
LAUNCHER = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
code = subprocess.run(sys.argv[1:]).returncode
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
sys.exit(code)
"""


def _play(tmp_path, actions, local):
    path = tmp_path / "puzzle.py"
    path.write_text(puzzle.program(actions, 0, 70, local), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, str(path)], capture_output=True,
                          text=True, timeout=60, env=env, cwd=tmp_path)


@linux_only
@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("seed, count", [(1, 5), (2, 12), (7, 30)])
def test_the_program_plays_the_actions_in_order_outside_the_kit(tmp_path, seed, count, local):
    """Plain `python3 puzzle.py` on this host: stdout is the actions, in order, every time;
    checkpoint() prints the final ps rows on stderr, each process named."""
    actions = puzzle.generate(seed, count)
    for _ in range(3):
        done = _play(tmp_path, actions, local)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [str(action) for action in actions]
        assert "--- checkpoint final (a=" in done.stderr
        names = puzzle.processes(actions)
        model = linux(actions, local)
        for name in names:
            if model.state[name] == "alive":
                assert f"<- {name}\n" in done.stderr + "\n"


@linux_only
def test_the_program_ends_when_the_last_action_is_an_exit(tmp_path):
    actions = parse_actions("a+b,b+c,b-,c-")
    done = _play(tmp_path, actions, False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["a forks b", "b forks c", "b exits", "c exits"]


def test_the_checks_are_the_linux_model():
    checks = puzzle.expectations(linux(parse_actions("a+b,b+c,c+d,b-,d-")))
    said = [check.says for check in checks]
    assert said == ["a is alive, a child of reaper", "b exited and is a zombie",
                    "zombie b's parent is a, which has not reaped it", "c is alive, a child of reaper",
                    "d exited and is a zombie", "zombie d's parent is c, which has not reaped it"]


def test_the_solution_without_running(capsys):
    from forklab.console import Terminal
    from forklab.settings import Settings

    settings = Settings.from_config({}, ROOT)
    assert puzzle.run_puzzle(settings, Terminal(), seed="1", compute=True) == 0
    out = capsys.readouterr().out
    assert "fork.py's final tree (fork.py -s 1 -a 5 -f 0.7 -c -F):\n  a\n  ├── b\n  ├── e\n  └── d\n" in out
    assert "fork.py gives d to a; Linux gives it to the reaper" in out
    with pytest.raises(UsageError, match="--compute shows the answer"):
        puzzle.run_puzzle(settings, Terminal(), seed="1", compute=True, answer="b=a")


def test_a_bad_answer_is_refused_before_anything_runs():
    from forklab.console import Terminal
    from forklab.settings import Settings

    with pytest.raises(UsageError, match=r"--answer 'b=q': 'q' is not a process"):
        puzzle.run_puzzle(Settings.from_config({}, ROOT), Terminal(), seed="4", answer="b=q")


def test_an_action_is_printed_as_fork_py_and_as_the_program_does():
    assert Action("a", "b").fork_py() == "a forks b" == str(Action("a", "b"))
    assert Action("b").fork_py() == "b EXITS" and str(Action("b")) == "b exits"
