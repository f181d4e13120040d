"""lab.yaml is read strictly: every error names the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forklab import catalog, runner
from forklab.errors import UsageError
from tests.support import GOOD, error_of, make_lab

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_labs_are_valid():
    labs = catalog.find_labs(ROOT / "labs")
    assert {1, 3} <= set(labs)
    for number, path in labs.items():
        lab = catalog.load_lab(path)
        assert lab.number == number
        # An exercise tests the student's program, not a claim.
        assert lab.spec.claims or lab.spec.kind == "exercise", f"{path.name} quotes no tutorial claim"


def test_a_good_lab_loads_with_defaults(tmp_path):
    lab = catalog.load_lab(make_lab(tmp_path, GOOD))
    assert lab.spec.run.timeout == 20
    assert lab.spec.run.reaper is True
    assert lab.spec.run.pids_limit == 64
    assert lab.key_checkpoint is None


def test_yaml_syntax_error_names_the_line(tmp_path):
    message = error_of(tmp_path, GOOD + "run: [unclosed\n")
    assert "07-a-lab/lab.yaml" in message.replace("\\", "/")
    assert "not valid YAML (line" in message


def test_unknown_key(tmp_path):
    assert error_of(tmp_path, GOOD + "colour: blue\n").endswith("colour: unknown key")


@pytest.mark.parametrize("yaml_text, expected", [
    (GOOD.replace("expect:", "expext:"), "expext: unknown key; did you mean `expect`?"),
    (GOOD + "run: {timout: 3}\n", "run.timout: unknown key; did you mean `timeout`?"),
    (GOOD.replace("count: 1", "count: 1\n    strem: stderr"), "expect[0].strem: unknown key; did you mean `stream`?"),
    (GOOD + "variants: [{name: a, title: A, run: {stdot: tty}}]\n",
     "variants[0].run.stdot: unknown key; did you mean `stdout`?"),
    (GOOD + "predict: [{ask: 'How many?', answer: {line: x}}]\n",
     "predict[0].answer.line: unknown key; did you mean `lines`?"),
    (GOOD + "claims: [{id: a-claim, show: it}]\n", "claims[0].show: unknown key; did you mean `shows`?"),
    # The key it meant is then missing too: the misspelling is what is named.
    (GOOD + "  - {check: state, checkpoint: a, rol: child, state: Z}\n",
     "expect[1].rol: unknown key; did you mean `role`? (and 1 more)"),
])
def test_an_unknown_key_close_to_a_known_one_is_named(tmp_path, yaml_text, expected):
    assert error_of(tmp_path, yaml_text).endswith(expected)


def test_an_unknown_key_is_matched_against_its_own_place_only(tmp_path):
    # `role` is a key of a state check, not of lab.yaml's top level or of a lines check.
    assert error_of(tmp_path / "a", GOOD + "rol: x\n").endswith("lab.yaml: rol: unknown key")
    lines = GOOD.replace("count: 1", "count: 1\n    rol: x")
    assert error_of(tmp_path / "b", lines).endswith("expect[0].rol: unknown key")
    state = GOOD + "  - {check: state, checkpoint: a, rol: child, role: child, state: Z}\n"
    assert error_of(tmp_path / "c", state).endswith("expect[1].rol: unknown key; did you mean `role`?")


def test_wrong_type_names_the_key(tmp_path):
    message = error_of(tmp_path, GOOD + "run:\n  timeout: soon\n")
    assert "run.timeout:" in message and "'soon'" in message


def test_limit_above_the_ceiling(tmp_path):
    message = error_of(tmp_path, GOOD + "run:\n  pids_limit: 100000\n")
    assert "run.pids_limit:" in message


def test_missing_field(tmp_path):
    message = error_of(tmp_path, GOOD.replace("title: A lab\n", ""))
    assert message.endswith("title: required but missing")


def test_duplicate_key_is_refused(tmp_path):
    message = error_of(tmp_path, GOOD + "title: Again\n")
    assert "'title' is given twice" in message


def test_unknown_check_lists_the_allowed_ones(tmp_path):
    message = error_of(tmp_path, GOOD + "  - check: telepathy\n")
    assert "expect[1]: unknown check 'telepathy'" in message
    assert "no-zombies-at-end" in message


def test_wrong_state_letter(tmp_path):
    message = error_of(tmp_path, GOOD + "  - {check: state, checkpoint: x, role: child, state: Q}\n")
    assert message.split(": ", 1)[1].startswith("expect[1].state:")


def test_bad_regular_expression(tmp_path):
    message = error_of(tmp_path, GOOD.replace('"^hi$"', '"(unclosed"'))
    assert "expect[0].match: not a valid regular expression" in message


def test_exit_check_needs_code_or_signal(tmp_path):
    message = error_of(tmp_path, GOOD + "  - {check: exit, role: main}\n")
    assert "give exactly one of 'code' or 'signal'" in message


def test_number_must_match_the_folder(tmp_path):
    message = error_of(tmp_path, GOOD.replace("number: 7", "number: 8"))
    assert "does not match the folder name 07-a-lab" in message


def test_yes_is_not_silently_a_boolean_title(tmp_path):
    # YAML 1.1 reads an unquoted `yes` as True; strict validation refuses it.
    message = error_of(tmp_path, GOOD.replace("title: A lab", "title: yes"))
    assert "title:" in message


def test_duplicate_lab_numbers(tmp_path):
    make_lab(tmp_path, GOOD, "07-a-lab")
    make_lab(tmp_path, GOOD, "07-another")
    with pytest.raises(UsageError, match="two labs are numbered 07"):
        catalog.find_labs(tmp_path)


@pytest.mark.parametrize("text, number", [("3", 3), ("03", 3), (" 1 ", 1)])
def test_lab_numbers(text, number):
    assert catalog.parse_number(text, {1: Path("01-x"), 3: Path("03-y")}) == number


@pytest.mark.parametrize("text, expected", [("abc", "'abc' is not a lab number"),
                                            ("99", "there is no lab 99"),
                                            ("-1", "not a lab number"),
                                            ("003", "not a lab number")])
def test_bad_lab_numbers_list_the_labs(text, expected):
    with pytest.raises(UsageError) as info:
        catalog.parse_number(text, {1: Path("01-fork-returns"), 3: Path("03-zombies")})
    assert expected in info.value.message
    assert "01-fork-returns, 03-zombies" in info.value.message


# -- the runner steps aside: run: {pid1: lab} or {pid1: init} ------------------------

STOPPED = """\
number: 7
title: A lab
summary: What it shows.
expect:
  - {check: lines, match: "^hi$", count: 1}
variants:
  - name: inside
    title: The runner is PID 1
  - name: python-pid1
    title: The lab is PID 1
    run: {pid1: lab}
    expect:
      - {check: stop, signal: SIGKILL, waited: true}
  - name: with-init
    title: An init is PID 1
    run: {pid1: init, stop_timeout: 3}
    expect:
      - {check: stop, signal: SIGTERM}
"""


def test_pid1_and_the_stop_check_load(tmp_path):
    lab = catalog.load_lab(make_lab(tmp_path, STOPPED))
    inside, python, init = lab.runs()
    assert (inside.settings.pid1, python.settings.pid1, init.settings.pid1) == ("runner", "lab", "init")
    assert not inside.settings.stepped_aside and python.settings.stepped_aside and init.settings.stepped_aside
    assert (python.settings.stop_grace, init.settings.stop_grace) == (catalog.DEFAULT_STOP_TIMEOUT_S, 3)
    assert python.expect[-1].signal == "SIGKILL" and python.expect[-1].waited is True
    assert init.expect[-1].waited is None
    # The runner's own settings never see pid1: its settings are a closed list.
    assert "pid1" not in python.settings.runner_settings()


@pytest.mark.parametrize("change, expected", [
    ("run: {pid1: tini}\n", "run.pid1: give 'runner', 'lab' or 'init' (got 'tini')"),
    ("run: {pid1: lab, stdout: tty}\n", "run: with pid1: lab the runner steps aside, so stdout: tty cannot apply"),
    ("run: {pid1: init, interval: 1}\n", "run: with pid1: init the runner steps aside, so interval: 1.0 cannot"),
    ("run: {stop_timeout: 2}\n", "run: stop_timeout needs pid1: lab or init"),
    ("run: {pid1: lab, stop_timeout: 0}\n", "run.stop_timeout: give a whole number of at least 1"),
    ("run: {pid1: lab, stop_timeout: 2.5}\n", "run.stop_timeout: give a whole number"),
])
def test_pid1_settings_are_checked(tmp_path, change, expected):
    assert expected in error_of(tmp_path, GOOD + change)


def test_a_variant_that_steps_aside_may_not_keep_runner_settings(tmp_path):
    text = STOPPED.replace("summary: What it shows.\n", "summary: What it shows.\nrun: {reaper: false}\n")
    message = error_of(tmp_path, text)
    assert message.endswith("lab.yaml: variants[1].run: with pid1: lab the runner steps aside, so reaper: "
                            "False cannot apply; remove it or use pid1: runner")


@pytest.mark.parametrize("expect, expected", [
    ("{check: stop, signal: SIGHUP}", "expect[1].signal: give 'SIGTERM' or 'SIGKILL'"),
    ("{check: stop, signal: SIGKILL, waited: maybe}", "expect[1].waited: give true or false"),
    ("{check: stop, signal: SIGKILL, after: 2}", "expect[1].after: unknown key"),
    ("{check: stop, signal: SIGKILL}", "variants[0]: a stop check needs run: {pid1: lab} or {pid1: init}"),
    ("{check: reaped, role: orphan, by: reaper}",
     "variants[1]: with pid1: lab the host sees from outside, where reaped checks cannot be seen"),
])
def test_stop_checks_are_checked(tmp_path, expect, expected):
    text = STOPPED.replace('  - {check: lines, match: "^hi$", count: 1}\n',
                           f'  - {{check: lines, match: "^hi$", count: 1}}\n  - {expect}\n')
    assert expected in error_of(tmp_path, text)


def test_a_stop_prediction_needs_a_variant_that_is_stopped(tmp_path):
    asked = "predict:\n  - {ask: 'Which signal ends it?', answer: {stop: true}, variant: %s}\n"
    catalog.load_lab(make_lab(tmp_path, STOPPED + asked % "python-pid1", "07-stopped"))
    assert "predict[0]: a stop answer needs a variant with pid1: lab or init" in \
        error_of(tmp_path, STOPPED + asked % "inside")


def test_command_line_options_that_need_the_runner_are_a_usage_error(tmp_path):
    import dataclasses

    lab = catalog.load_lab(make_lab(tmp_path, STOPPED))
    with pytest.raises(UsageError) as info:
        dataclasses.replace(lab, overrides=catalog.RunOverrides(interval=0.5)).runs()
    assert info.value.message == ("lab 07: the command-line options do not fit its runs: with pid1: lab the "
                                  "runner steps aside, so interval: 0.5 cannot apply; remove it or use pid1: runner")


VARIANTS = GOOD + """\
variants:
  - name: slow
    title: The slow way
  - name: fast
    title: The fast way
    env: {MODE: fast, LIMIT: "3"}
    args: [--fast, "two words"]
"""


def test_a_variant_s_env_and_args_go_to_the_runner(tmp_path):
    slow, fast = catalog.load_lab(make_lab(tmp_path, VARIANTS)).runs()
    assert (slow.env, slow.args) == ({}, ())
    assert (fast.env, fast.args) == ({"MODE": "fast", "LIMIT": "3"}, ("--fast", "two words"))
    command = fast.runner_command("lab.py", repeat=2)
    assert command[:3] == ["-m", "forklab.runner", "--settings"] and command[-1] == "lab.py"
    sent = json.loads(command[3])
    assert (sent["variant"], sent["env"], sent["args"], sent["repeat"]) == \
        ("fast", {"MODE": "fast", "LIMIT": "3"}, ["--fast", "two words"], 2)
    assert set(sent) - {"repeat"} <= set(runner.DEFAULTS), "the runner refuses settings it does not know"
    assert json.loads(slow.runner_command("lab.py")[3])["variant"] == "slow"
    # Stepped aside, the container's environment carries them.
    assert fast.lab_environment() == {"MODE": "fast", "LIMIT": "3", "FORKLAB_VARIANT": "fast"}


@pytest.mark.parametrize("change, expected", [
    ("env: {PYTHONPATH: /x}", "variants[1].env: PYTHONPATH is the kit's own: the runner sets PATH, HOME, LANG, "
                              "LANGUAGE, TERM, FORKLAB_*, PYTHON*, LC_* and LD_* for every lab; choose another name"),
    ("env: {PYTHONUNBUFFERED: '1'}", "(for PYTHONUNBUFFERED, use run: {unbuffered: true})"),
    ("env: {FORKLAB_VARIANT: x}", "variants[1].env: FORKLAB_VARIANT is the kit's own"),
    ("env: {PATH: /x}", "variants[1].env: PATH is the kit's own"),
    ("env: {LANG: C}", "variants[1].env: LANG is the kit's own"),
    ("env: {LC_ALL: C}", "variants[1].env: LC_ALL is the kit's own"),
    ("env: {LD_PRELOAD: /x.so}", "variants[1].env: LD_PRELOAD is the kit's own"),
    ("env: {1ST: x}", "variants[1].env: '1ST' is not a variable name"),
    ("env: {A-B: x}", "variants[1].env: 'A-B' is not a variable name"),
    ("env: {N: 3}", "variants[1].env.N: give text (in quotes: YAML reads this as a number) (got 3)"),
    ("args: [--n, 3]", "variants[1].args[1]: give text (in quotes: YAML reads this as a number) (got 3)"),
    ('args: ["a\\0b"]', "variants[1].args: argument 1 holds a NUL character"),
    ("args: [%s]" % ", ".join(["x"] * 33), "variants[1].args: give at most 32 items, not 33"),
    ("args: [%s]" % ", ".join(["x" * 300] * 30), "variants[1]: env and args come to 9000 characters, more than 8192"),
    ("envs: {A: b}", "variants[1].envs: unknown key; did you mean `env`?"),
])
def test_a_variant_s_env_and_args_are_checked(tmp_path, change, expected):
    text = VARIANTS.replace("    env: {MODE: fast, LIMIT: \"3\"}\n    args: [--fast, \"two words\"]\n",
                            f"    {change}\n")
    assert text != VARIANTS
    assert expected in error_of(tmp_path, text)
