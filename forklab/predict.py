"""Predict, then observe: questions asked before a lab runs, answered by the run.

Students learn most when they commit to an answer first.  `invoke lab N
--predict` asks lab.yaml's questions (or takes --answer options, for scripts
and autograders), runs the lab, and puts each prediction next to what the run
showed.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from forklab import catalog


def observe(prediction: catalog.Prediction, run: dict) -> str:
    """The run's answer, as text a student would write."""
    answer = prediction.answer
    if answer.lines is not None:
        pattern = re.compile(answer.lines)
        return str(sum(1 for line in run["stdout"].splitlines() if pattern.search(line)))
    if answer.processes:
        return str(len({e["pid"] for e in run["events"] if e["event"] == "fork"}))
    if answer.stop:
        return (run.get("stop") or {}).get("signal") or "?"
    if answer.orders:
        count = (run.get("orders") or {}).get("count")
        return "?" if count is None else str(count)
    if answer.possible is not None:
        from forklab import orders

        can = orders.possible(run.get("orders") or {}, answer.possible)
        return "?" if can is None else ("yes" if can else "no")
    if answer.zombies_at is not None:
        snap = next((s for s in run["snapshots"] if s["checkpoint"] == answer.zombies_at), None)
        zombies = sorted(row["role"] for row in (snap or {}).get("processes", []) if row["state"] == "Z")
        return ", ".join(zombies) or "none"
    # A Prediction gives exactly one kind of answer: the only one left is parent.
    assert answer.parent is not None, "a prediction's answer names what to observe"
    role, checkpoint = answer.parent.split("@", 1)
    snap = next((s for s in run["snapshots"] if s["checkpoint"] == checkpoint), None)
    row = next((r for r in (snap or {}).get("processes", []) if r["role"] == role), None)
    return (row or {}).get("parent_role") or "?"


def _words(text: str) -> list[str]:
    return sorted(word for word in re.split(r"[\s,;]+", text.strip().lower()) if word)


#: Yes and no as a student may type them.
YES = {"yes", "y", "是", "能", "可能", "可以"}
NO = {"no", "n", "否", "不", "不能", "不可能", "不可以"}


def same(predicted: str, observed: str) -> bool:
    """Numbers as numbers, yes and no as words, names in any order and case."""
    if observed in ("yes", "no") and predicted.strip().lower() in YES | NO:
        return (predicted.strip().lower() in YES) == (observed == "yes")
    if predicted.strip().isdigit() and observed.isdigit():
        return int(predicted) == int(observed)
    return _words(predicted) == _words(observed)


def kind(question: catalog.Prediction) -> str:
    """What the answer must be: "number", "yes/no" or "text" (names, a signal)."""
    answer = question.answer
    if answer.lines is not None or answer.processes or answer.orders:
        return "number"
    if answer.possible is not None:
        return "yes/no"
    return "text"


def problem(question: catalog.Prediction, text: str) -> Optional[str]:
    """Why ``text`` cannot answer ``question`` (None when it can): a number is asked for and
    this is not one, or yes or no is asked for and this is neither."""
    answer = str(text).strip().lower()
    if kind(question) == "number" and not (answer.isascii() and answer.isdigit()):
        return "give a whole number, e.g. 4"
    if kind(question) == "yes/no" and answer not in YES | NO:
        return "give yes or no (y, n, 是, 否)"
    return None


#: How much of a bad --answer an error quotes.
QUOTED = 40


def collect(questions: list[catalog.Prediction], given: list[str],
            ask: Optional[Callable[[str], str]], tell: Callable[[str], None] = lambda text: None,
            words: Callable[..., str] = lambda english, **values: english.format(**values)) -> list[str]:
    """The student's answers: from --answer options (each checked: one line, exit 2, for a word
    where a number is asked), else asked one by one, again until the answer fits the question."""
    from forklab.errors import UsageError
    from forklab.normalize import one_line

    if given:
        if len(given) != len(questions):
            raise UsageError(f"--answer was given {len(given)} time(s); this lab asks {len(questions)} "
                             "question(s)")
        for index, (question, text) in enumerate(zip(questions, given), start=1):
            why = problem(question, text)
            if why:
                quoted = one_line(str(text))
                quoted = quoted if len(quoted) <= QUOTED else quoted[:QUOTED] + "…"
                raise UsageError(f"--answer '{quoted}': question {index} asks for "
                                 f"{'a number' if kind(question) == 'number' else 'yes or no'}; {why}")
        return list(given)
    if ask is None:
        raise UsageError("--predict needs a terminal to ask in, or one --answer per question")
    answers = []
    for index, question in enumerate(questions, start=1):
        while True:
            text = ask(f"{index}. {question.ask} ")
            why = problem(question, text)
            if why is None:
                answers.append(text)
                break
            tell(words(why))
    return answers


def score(questions: list[catalog.Prediction], answers: list[str], runs: list[dict]) -> list[dict]:
    by_name = {run["variant"]["name"]: run for run in runs}
    scored = []
    for question, predicted in zip(questions, answers):
        run = by_name.get(question.variant, runs[0])
        observed = observe(question, run)
        scored.append({"ask": question.ask, "predicted": predicted, "observed": observed,
                       "right": same(predicted, observed)})
        if question.answer.possible is not None and observed == "no":
            from forklab import orders

            scored[-1]["why"] = orders.why_not(run.get("orders") or {}, question.answer.possible)
    return scored
