"""The terminal interface: help, short flags, usage errors, the summary's width and counts,
progress that stays out of logs, and where the offline base is mentioned (no engine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len

import tasks
from forklab import catalog, commands, console, predict
from forklab.console import Terminal
from forklab.errors import UsageError

# -- --help and the flags ---------------------------------------------------------------


def test_numbers_show_as_int_in_help(cli):
    code, out, err = cli("--help", "lab")
    assert code == 0
    for option in ("--timeout", "--pids", "--memory", "--repeat", "--seed", "--output-cap"):
        assert re.search(rf"{option}=INT\b", out), option
    assert "--lang=STRING" in out and "STRING, --timeout" not in out
    code, out, err = cli("--help", "labs")
    assert "--jobs=INT" in out


def test_a_number_given_as_a_word_is_one_line_naming_the_option(cli):
    for argv, expected in ((["lab", "6", "--repeat", "abc"], "forklab: --repeat abc: give a whole number"),
                           (["lab", "6", "-t", "soon"], "forklab: --timeout soon: not a number"),
                           (["labs", "--jobs", "x"], "forklab: --jobs x: give a number of containers"),
                           (["lab", "6", "--repeat", "\x1b[2J9"], "forklab: --repeat \\x1b[2J9: give a whole")):
        code, out, err = cli(*argv)
        assert code == 2 and err.startswith(expected) and err.count("\n") == 1, (argv, err)
        assert "\x1b" not in err


def _short_flags(name: str) -> dict:
    """{short flag: long option} of one task, from the arguments Invoke is given."""
    flags = {}
    for argument in tasks.ns[name].get_arguments():
        longs = [n for n in argument.names if len(n) > 1]
        for short in (n for n in argument.names if len(n) == 1):
            flags[short] = longs[0]
    return flags


def test_lab_and_run_share_their_short_flags():
    lab, run = _short_flags("lab"), _short_flags("run")
    for short in ("t", "p", "m", "l", "v"):
        assert lab[short] == run[short], short
    assert lab["p"] == "pids" and lab["v"] == "verbose"


def test_a_short_flag_means_one_thing_in_every_task():
    meaning: dict = {}
    for name in tasks.ns.task_names:
        for short, option in _short_flags(name).items():
            assert meaning.setdefault(short, option) == option, (name, short, option, meaning[short])


def test_every_task_has_an_example_in_its_help(cli):
    for name in tasks.ns.task_names:
        code, out, err = cli("--help", name)
        assert code == 0 and re.search(rf"Examples?: invoke {name}\b", out), name


@pytest.mark.parametrize("argv", [["lab", "--help"], ["lab", "-h"], ["run", "--help"], ["lab", "3", "--help"]])
def test_help_after_the_task_shows_its_help(cli, argv):
    code, out, err = cli(*argv)
    assert code == 0 and "Options:" in out and "--timeout=INT" in out
    assert not cli.reports.exists()


@pytest.mark.parametrize("name, usage", [("lab", "usage: invoke lab NUMBER [--options], e.g. invoke lab 3"),
                                         ("run", "usage: invoke run PATH [--options], e.g. invoke run mine.py"),
                                         ("grade", "usage: invoke grade NUMBER SUBMISSIONS [--options]")])
def test_a_missing_argument_shows_the_usage_in_one_line(cli, name, usage):
    code, out, err = cli(name)
    assert code == 2 and err.startswith("forklab: ") and err.count("\n") == 1
    assert usage in err and f"see `invoke --help {name}`" in err and "TASK" not in err


def test_an_unknown_option_names_the_task_to_ask_help_for(cli):
    code, out, err = cli("lab", "3", "--colour")
    assert code == 2 and "see `invoke --help lab`" in err and "TASK" not in err


# -- the summary ------------------------------------------------------------------------

def fake_result(passed: int = 14, failed: int = 1, predictions: list | None = None) -> dict:
    checks = [{"name": f"check number {n}", "passed": True, "detail": ""} for n in range(passed)]
    checks += [{"name": f"failing check {n}", "passed": False,
                "detail": "expected the orphan to be adopted by the reaper at checkpoint adopted; it was "
                          "adopted by main.1 (python3 lab.py) which is a very long detail indeed " * 2}
               for n in range(failed)]
    return {"lab": {"number": 6, "title": "Three forks, eight processes", "kind": "lab"},
            "status": "passed" if not failed else "failed", "checks": checks, "snapshots": [],
            "environment": {}, "truncated": {}, "warnings": [], "exit": {"code": 0}, "stdout": "", "stderr": "",
            "runner": {"status": "finished"}, "predictions": predictions or []}


LONG_TREE = ["reaper  python3 -m forklab.runner",
             "└── main  python3 lab.py · exit 0 · reaped by reaper",
             "    ├── main.1  (command not seen) · adopted by reaper · exit 0 · reaped by reaper · and more",
             "    │   └── main.1.1  " + "x" * 120]


def summary(capsys, monkeypatch, result: dict, verbose: bool = False, width: int = 80) -> list[str]:
    monkeypatch.setattr(console, "text_tree", lambda run, lang=None: LONG_TREE)
    term = Terminal("en", verbose=verbose, width=width)
    term.lab_summary(result, Path("reports/lab-06"))
    return capsys.readouterr().out.splitlines()


def test_the_summary_shows_a_count_and_only_the_failed_checks(capsys, monkeypatch):
    lines = summary(capsys, monkeypatch, fake_result())
    assert "  ✗ 14 of 15 checks passed" in lines
    assert any(line.startswith("  ✗ failing check 0") for line in lines)
    assert not any("check number" in line for line in lines)
    assert lines[-1] == "failed · report: reports/lab-06/report.md"


def test_verbose_lists_every_check(capsys, monkeypatch):
    lines = summary(capsys, monkeypatch, fake_result(), verbose=True)
    assert sum("check number" in line for line in lines) == 14 and "  ✓ check number 0" in lines
    assert not any("of 15 checks passed" in line for line in lines)


def test_all_passed_is_one_line(capsys, monkeypatch):
    lines = summary(capsys, monkeypatch, fake_result(failed=0))
    assert "  ✓ 14 of 14 checks passed" in lines and lines[-1].startswith("passed · report:")


@pytest.mark.parametrize("width", [40, 80, 100])
def test_the_summary_fits_the_width_without_trailing_spaces(capsys, monkeypatch, width):
    lines = summary(capsys, monkeypatch, fake_result(failed=2), width=width)
    assert lines
    for line in lines:
        assert cell_len(line) <= width, line
        assert line == line.rstrip(), repr(line)
    # A tree's line is cut, with …; a check's detail is wrapped under its own indent.
    assert any(line.startswith("      │   └── main.1.1  xxx") and line.endswith("…") for line in lines)
    detail = [line for line in lines if line.startswith("      ") and "adopted" in line and "└" not in line]
    assert len(detail) > 2


def test_piped_output_is_not_cut(capsys, monkeypatch):
    monkeypatch.setattr(console, "text_tree", lambda run, lang=None: LONG_TREE)
    term = Terminal("en")  # pytest's stdout is not a terminal
    term.lab_summary(fake_result(), Path("reports/lab-06"))
    out = capsys.readouterr().out
    assert LONG_TREE[-1] in out and " \n" not in out


def test_a_wrong_prediction_shows_in_the_last_line(capsys, monkeypatch):
    predictions = [{"ask": "How many?", "predicted": "4", "observed": "3", "right": False},
                   {"ask": "Possible?", "predicted": "no", "observed": "no", "right": True}]
    lines = summary(capsys, monkeypatch, fake_result(failed=0, predictions=predictions))
    assert lines[-1] == "passed · 1 of 2 predictions right · report: reports/lab-06/report.md"


def test_a_narrow_list_keeps_each_lab_number_whole(capsys):
    from forklab.settings import DEFAULTS, Settings

    settings = Settings.from_config(dict(DEFAULTS), Path(tasks.__file__).parent, "en")
    assert commands.list_labs(settings, Terminal("en", width=60)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line == line.rstrip() and cell_len(line) <= 60 for line in lines)
    assert [line[:2] for line in lines if line[:2].isdigit()][:3] == ["01", "02", "03"]


def test_the_labs_table_has_no_trailing_spaces_and_ends_with_totals(capsys):
    lab = catalog.load_lab(catalog.find_labs(Path("labs").resolve())[6]) if Path("labs").is_dir() else None
    if lab is None:
        pytest.skip("run from the repository")
    term = Terminal("en", width=80)
    rows = [(lab, fake_result(), 1.25), (lab, fake_result(failed=0), 0.5)]
    term.labs_summary(rows, 3.0, Path("reports"), Path("reports/index.md"))
    lines = capsys.readouterr().out.splitlines()
    assert all(line == line.rstrip() and cell_len(line) <= 80 for line in lines)
    assert lines[-1] == "1 of 2 labs passed in 3.0 s · reports: reports/ · index: reports/index.md"
    term.verify_summary([(lab, True), (lab, False)], Path("reports"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 of 2 reports the same, 1 drifted · reports: reports/"


# -- progress ---------------------------------------------------------------------------

def test_progress_says_nothing_when_not_a_terminal(capsys):
    term = Terminal("en")
    for line in ("Step 1/12 : FROM base", " ---> abc", "Step 2/12 : RUN apt-get install"):
        term.progress(line)
    term.build_finished("forklab/lab:1", True)
    with term.working(3, "labs") as advance:
        advance()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class FakeEngine:
    def __init__(self, build: bool) -> None:
        self.build = build

    def resolve_base(self, configured, mirror, say, pull=False):
        say("using the offline base forklab/base:x (python:3.11-slim is not here; `invoke build` tries to pull it)")
        return "forklab/base:x"

    def ensure_image(self, base, say, progress):
        if self.build:
            say(f"building forklab/lab:1 on {base} ...")
            progress("Step 1/2 : FROM base")
        return "forklab/lab:1", "sha256:1"


@pytest.mark.parametrize("build", [False, True])
def test_the_offline_base_is_named_only_when_an_image_is_built_on_it(capsys, build):
    from forklab.settings import DEFAULTS, Settings

    settings = Settings.from_config(dict(DEFAULTS), Path.cwd(), "en")
    assert commands.lab_image(FakeEngine(build), settings, Terminal("en")) == ("forklab/lab:1", "sha256:1",
                                                                            "forklab/base:x")
    err = capsys.readouterr().err
    assert ("using the offline base" in err) is build
    assert "Step" not in err


# -- predictions ------------------------------------------------------------------------

def question(**answer) -> catalog.Prediction:
    return catalog.Prediction(ask="?", answer=catalog.Answer(**answer))


def test_a_number_is_asked_again_until_it_is_one():
    typed, told = iter(["abc", " ", "٣", "4"]), []
    assert predict.collect([question(processes=True)], [], lambda prompt: next(typed), told.append) == ["4"]
    assert told == ["give a whole number, e.g. 4"] * 3


def test_yes_or_no_is_asked_again_until_it_is_one():
    typed, told = iter(["maybe", "", "是"]), []
    assert predict.collect([question(possible=["A", "B"])], [], lambda prompt: next(typed), told.append) == ["是"]
    assert len(told) == 2


def test_names_are_taken_as_typed():
    assert predict.collect([question(zombies_at="end")], [], lambda prompt: "child", print) == ["child"]


@pytest.mark.parametrize("given, expected", [
    (["abc"], "--answer 'abc': question 1 asks for a number"),
    (["3\x1b[2J"], "--answer '3\\x1b[2J': question 1 asks for a number"),
    (["x" * 500], "--answer '" + "x" * 40 + "…': question 1"),
])
def test_a_word_given_for_a_number_is_a_usage_error(given, expected):
    with pytest.raises(UsageError) as caught:
        predict.collect([question(orders=True)], given, None)
    assert caught.value.exit_code == 2 and caught.value.message.startswith(expected)
    assert "\n" not in caught.value.message and "\x1b" not in caught.value.message


def test_the_predict_texts_have_a_chinese_form():
    from forklab import i18n

    for text in ("give a whole number, e.g. 4", "give yes or no (y, n, 是, 否)"):
        assert text in i18n.ZH


@pytest.mark.parametrize("argv, flag", [(["lab", "6", "-e"], "-e"), (["run", "x.py", "--echo"], "--echo"),
                                        (["lab", "6", "-d"], "-d")])
def test_invoke_s_own_flags_after_a_task_are_refused(cli, argv, flag):
    code, out, err = cli(*argv)
    assert code == 2 and err.startswith(f"forklab: {flag} is not an option of `invoke {argv[0]}`")
    assert err.count("\n") == 1 and not cli.reports.exists()


def test_a_terminal_sees_a_bar_and_the_build_s_current_step():
    import io

    from rich.console import Console

    term = Terminal("en")
    term.err = Console(file=io.StringIO(), force_terminal=True, width=80, highlight=False)
    with term.working(3, "labs") as advance:
        advance()
    term.progress("Step 2/12 : RUN apt-get install -y procps")
    term.build_finished("forklab/lab:1", True)
    shown = term.err.file.getvalue()
    assert "labs" in shown and "1/3" in shown
    assert "step 2 of 12: RUN apt-get install -y procps" in shown and "Step 2/12" not in shown
    assert "built forklab/lab:1 in " in shown
