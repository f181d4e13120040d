"""lab.yaml is read strictly: every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from forklab import catalog
from forklab.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
number: 7
title: A lab
summary: What it shows.
expect:
  - check: lines
    match: "^hi$"
    count: 1
"""


def make_lab(tmp_path: Path, yaml_text: str, folder: str = "07-a-lab") -> Path:
    path = tmp_path / folder
    path.mkdir()
    (path / "lab.py").write_text("print('hi')\n", encoding="utf-8")
    (path / "lab.yaml").write_text(yaml_text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, yaml_text: str) -> str:
    with pytest.raises(UsageError) as info:
        catalog.load_lab(make_lab(tmp_path, yaml_text))
    message = info.value.message
    assert "\n" not in message
    return message


def test_the_shipped_labs_are_valid():
    labs = catalog.find_labs(ROOT / "labs")
    assert {1, 3} <= set(labs)
    for number, path in labs.items():
        lab = catalog.load_lab(path)
        assert lab.number == number
        assert lab.spec.claims, f"{path.name} quotes no tutorial claim"


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
