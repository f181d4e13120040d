"""lab.yaml's errors are said in the kit's words, one line each: what to write, and what was written."""

from __future__ import annotations

import pytest

from forklab import catalog
from tests.support import GOOD, error_of

VARIANTS = GOOD + "variants:\n  - {name: a, title: A}\n  - {name: b, title: B, %s}\n"


@pytest.mark.parametrize("yaml_text, expected", [
    # greater_than_equal, on a whole number and on a number
    (GOOD + "run: {pids_limit: 4}\n", "run.pids_limit: give a whole number of at least 8 (got 4)"),
    (GOOD + "run: {interval: -1.5}\n", "run.interval: give a number of at least 0 (got -1.5)"),
    # greater_than
    (GOOD + "run: {timeout: 0}\n", "run.timeout: give a number greater than 0 (got 0)"),
    # less_than_equal
    (GOOD + "run: {memory_mb: 100000}\n", "run.memory_mb: give a whole number of at most 4096 (got 100000)"),
    (GOOD + "run: {timeout: 601}\n", "run.timeout: give a number of at most 600 (got 601)"),
    (GOOD.replace("number: 7", "number: 100"), "number: give a whole number of at most 99 (got 100)"),
    # int_type / int_parsing (strict: neither 2.5 nor "3")
    (GOOD + "run: {pids_limit: 2.5}\n", "run.pids_limit: give a whole number (got 2.5)"),
    (GOOD + "run: {pids_limit: '64'}\n", "run.pids_limit: give a whole number (got '64')"),
    # float_type
    (GOOD + "run: {timeout: soon}\n", "run.timeout: give a number (got 'soon')"),
    # bool_type
    (GOOD + "run: {reaper: yes please}\n", "run.reaper: give true or false (got 'yes please')"),
    # string_type
    (GOOD.replace("title: A lab", "title: 3"),
     "title: give text (in quotes: YAML reads this as a number) (got 3)"),
    (GOOD.replace("title: A lab", "title: true"),
     "title: give text (in quotes: YAML reads this as true or false) (got True)"),
    (VARIANTS % "env: {N: 3}", "variants[1].env.N: give text (in quotes: YAML reads this as a number) (got 3)"),
    # string_too_short
    (GOOD.replace("title: A lab", "title: ''"), "title: must not be empty (got '')"),
    # string_too_long
    (VARIANTS.replace("name: a,", "name: %s," % ("a" * 33)) % "",
     "variants[0].name: give at most 32 characters (got '%s')" % ("a" * 33)),
    # string_pattern_mismatch, said as what to write
    (VARIANTS.replace("name: b", "name: B_2") % "",
     "variants[1].name: use lower-case letters and digits, joined by single hyphens (got 'B_2')"),
    (GOOD + "  - {check: state, checkpoint: a, role: 9lives, state: Z}\n",
     "expect[1].role: give a name: a letter, then at most 31 letters, digits, _, . or - (got '9lives')"),
    (GOOD + "  - {check: fds, checkpoint: a, role: x, holds: true, pipe: write, of: y}\n",
     "expect[1].of: give ROLE:FD, such as reader:3 (got 'y')"),
    # literal_error
    (GOOD + "run: {pid1: tini}\n", "run.pid1: give 'runner', 'lab' or 'init' (got 'tini')"),
    (GOOD + "output_order: random\n", "output_order: give 'fixed' or 'race' (got 'random')"),
    # too_long (a list)
    (VARIANTS % ("args: [%s]" % ", ".join(["x"] * 33)), "variants[1].args: give at most 32 items, not 33"),
    # list_type and dict_type
    (GOOD + "pid_patterns: pid=(\\d+)\n",
     "pid_patterns: give a list ([a, b], or one `- item` per line) (got 'pid=(\\\\d+)')"),
    (GOOD + "run: fast\n", "run: give a mapping (key: value) (got 'fast')"),
    # missing and extra_forbidden keep their words
    (GOOD.replace("title: A lab\n", ""), "title: required but missing"),
    (GOOD + "colour: blue\n", "colour: unknown key"),
])
def test_each_kind_of_error_is_said_in_the_kits_words(tmp_path, yaml_text, expected):
    message = error_of(tmp_path, yaml_text)
    assert message.endswith(expected), message
    assert "Input should" not in message and "should have" not in message


def test_a_validators_own_sentence_is_kept(tmp_path):
    message = error_of(tmp_path, GOOD + "run: {stop_timeout: 3}\n")
    assert message.endswith("run: stop_timeout needs pid1: lab or init (the runner is never stopped from outside)")


def test_plain_error_serves_other_models_and_unknown_kinds():
    with pytest.raises(catalog.ValidationError) as info:
        catalog.RunOverrides(pids_limit=100000)
    assert catalog.plain_error(info.value.errors()[0], catalog.RunOverrides) == "give a whole number of at most 4096"
    with pytest.raises(catalog.ValidationError) as info:
        catalog.RunOverrides(memory_mb=8)
    assert catalog.plain_error(info.value.errors()[0], catalog.RunOverrides) == "give a whole number of at least 32"
    unknown = {"type": "something_new", "loc": ("x",), "msg": "Something new happened", "input": 1}
    assert catalog.plain_error(unknown) == "Something new happened"
