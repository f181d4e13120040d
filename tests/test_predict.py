"""Predict, then observe: questions are answered by the run (no engine)."""

from __future__ import annotations

import pytest

from forklab import catalog, predict
from forklab.errors import UsageError
from tests.support import evaluated


def question(**answer) -> catalog.Prediction:
    return catalog.Prediction(ask="?", answer=catalog.Answer(**answer))


@pytest.mark.parametrize("answer, observed", [
    ({"lines": "^哈哈哈$"}, "2"),
    ({"processes": True}, "3"),
    ({"zombies_at": "zombie"}, "child"),
    ({"zombies_at": "end"}, "none"),
    ({"parent": "orphan@adopted"}, "reaper"),
])
def test_the_run_answers(tmp_path, answer, observed):
    run = evaluated(tmp_path, "  - {check: no-zombies-at-end}\n")
    assert predict.observe(question(**answer), run) == observed


@pytest.mark.parametrize("predicted, observed, right", [
    ("8", "8", True), (" 08 ", "8", True), ("7", "8", False),
    ("Child", "child", True), ("orphan, child", "child, orphan", True), ("parent", "child", False),
])
def test_answers_compare_as_a_person_would(predicted, observed, right):
    assert predict.same(predicted, observed) is right


def test_answers_come_from_options_or_the_terminal():
    questions = [question(processes=True), question(lines="x")]
    assert predict.collect(questions, ["8", "3"], None) == ["8", "3"]
    asked = []
    assert predict.collect(questions, [], lambda q: asked.append(q) or "1") == ["1", "1"]
    assert asked[0].startswith("1. ?")
    with pytest.raises(UsageError, match="given 1 time"):
        predict.collect(questions, ["8"], None)
    with pytest.raises(UsageError, match="needs a terminal"):
        predict.collect(questions, [], None)


def test_an_answer_names_exactly_one_source():
    with pytest.raises(catalog.ValidationError):
        catalog.Answer(lines="x", processes=True)
    with pytest.raises(catalog.ValidationError):
        catalog.Answer(parent="orphan")
