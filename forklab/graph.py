"""Every output a fork program could have printed: its happens-before graph.

CS:APP asks of programs like ``fork(); fork(); print("hello")`` "which outputs
are possible?".  The kit records, for each process of a real run, what it did
in program order: its writes to stdout, the children it forked and the
children its wait() returned.  From that record this module builds the
happens-before graph and answers the question: how many distinct outputs
could the program have printed (``count``), which (``outputs``), could it
have printed this one (``possible``) and, if not, why not (``why_not``).  It
also draws the graph in the style of the book's process graphs (``mermaid``,
``svg``, ``text``).

What the graph knows:

* program order: one process does its events one after another;
* fork: a child does nothing before its parent's fork() that made it;
* wait and exit: a wait() that returned a child comes after everything that
  child did (its exit is the end of its events);
* atomic writes: one write(2) of at most PIPE_BUF (4096) bytes to a pipe is
  never split, so the lines of one write come out together, in a row.

What it does not know: orders kept by anything else, such as sleep(), pipes
between the processes, signals or locks.  So it may count outputs that the
program can never print (one that sleeps before printing almost never prints
first), but it never counts fewer than the program can print.

Output is counted in lines: two schedules that print the same lines in the
same order are one output, whichever process printed which line.  The
record must be whole for that to make sense, so the graph does not guess:
a write that does not end with a newline (the rest of its line may come in a
later write, and another process's output may land in between), a write of
more than 4096 bytes (not atomic), a fork or a wait of a process that is not
in the record, or a process that nobody forked, are ``problems``, and then
``count``, ``outputs`` and ``possible`` answer None.

How it counts: the record is an automaton whose state says how far each
process has got (plus, while a write of several lines is coming out, which
line of it comes next); each step prints one line.  Many schedules reach the
same lines, so the automaton is made deterministic on the fly (its states are
sets of those states) and the paths through it are counted, each set once.
Within a set, states that differ only in which of two alike processes has
printed are kept once (see ``Graph._key``), so sixty-four processes that all
print "hello" are quick.  Processes that each print their own lines cannot
be merged: there may be very many sets, and past a budget (``MAX_STATES``
sets, or ``MAX_WORK`` steps between states) ``count`` is None and ``reason``
says there are too many to count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape
from typing import Iterable, Iterator, Mapping, Optional, Sequence, Union

from forklab.normalize import one_line
from forklab.pictures import _mermaid_text, _width

#: The most bytes one write(2) to a pipe puts in it at once (Linux's PIPE_BUF).
PIPE_BUF = 4096
#: The budget of ``count``: sets of states of the deterministic automaton, and
#: steps between states of the first automaton (both summed over the whole
#: count; a step costs a few microseconds, so giving up takes a second or two).
MAX_STATES = 200_000
MAX_WORK = 500_000

#: The widest a write's text is drawn above its dot in the SVG, in px; the rest is in its tooltip.
TEXT_W = 180

# What a step of a process is.  QUIET is a write of nothing: it prints no line.
WRITE, FORK, REAP, QUIET = range(4)


@dataclass(frozen=True)
class Event:
    """One thing a process did: ``write`` (its text), ``fork`` or ``reap`` (the child's name)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Process:
    """One process of the record: its name, its parent's name (None for the first) and its events."""

    name: str
    parent: Optional[str]
    events: tuple[Event, ...] = ()

    @classmethod
    def of(cls, value: Union["Process", Mapping]) -> "Process":
        """A Process from itself or from a mapping with ``name``, ``parent`` and ``events``,
        each event a pair such as ``("write", "hello\\n")`` or ``["fork", "main.1"]``."""
        if isinstance(value, Process):
            return value
        events = tuple(event if isinstance(event, Event) else Event(str(event[0]), str(event[1]))
                       for event in value.get("events") or ())
        return cls(name=str(value["name"]), parent=value.get("parent"), events=events)


def lines_of(text: str) -> tuple[str, ...]:
    """The lines a write prints: ``"a\\nb\\n"`` is ``("a", "b")``; a write of "" prints none."""
    if not text:
        return ()
    return tuple(text[:-1].split("\n")) if text.endswith("\n") else tuple(text.split("\n"))


def _quote(text: str) -> str:
    return f"`{one_line(text)}`"


_NOT_YET = object()


class _OverBudget(Exception):
    """The work of one answer went past ``max_work``."""


class Graph:
    """The happens-before graph of one record, and what it says about the output.

    ``Graph(processes)`` takes the processes in any order (each a ``Process``
    or a mapping of the same shape); the one whose parent is None is the
    first.  ``max_states`` and ``max_work`` set the budget of ``count``
    (and ``max_work`` that of ``possible`` and ``why_not``).
    """

    def __init__(self, processes: Iterable[Union[Process, Mapping]], *,
                 max_states: int = MAX_STATES, max_work: int = MAX_WORK) -> None:
        self.processes: list[Process] = [Process.of(one) for one in processes]
        self.max_states = max_states
        self.max_work = max_work
        self.problems: list[str] = []
        self._too_many: Optional[str] = None
        self._count: object = _NOT_YET
        self._work = 0   # steps of the first automaton taken so far, against max_work
        self._compile()

    # -- the record, checked and compiled ---------------------------------------------

    def _compile(self) -> None:
        problem = self.problems.append
        names: dict[str, int] = {}
        for index, one in enumerate(self.processes):
            if one.name in names:
                problem(f"two processes are named {_quote(one.name)}")
            names.setdefault(one.name, index)
        roots = [one.name for one in self.processes if one.parent is None]
        if len(roots) != 1:
            problem("no process is the first one (every process has a parent)" if not roots else
                    f"{len(roots)} processes have no parent ({', '.join(map(_quote, roots))}): only the first may")
        for one in self.processes:
            if one.parent is not None and one.parent not in names:
                problem(f"{_quote(one.name)}'s parent {_quote(one.parent)} is not in the record (a process is missing)")

        n = len(self.processes)
        self._kind: list[list[int]] = [[] for _ in range(n)]
        self._lines: list[list[tuple[str, ...]]] = [[] for _ in range(n)]
        self._other: list[list[int]] = [[] for _ in range(n)]   # the child a fork or a reap names, else -1
        self._parent = [-1] * n      # the process that forked it
        self._fork_at = [-1] * n     # the index of that fork among its parent's steps
        self._reap_at = [-1] * n     # the index of the parent's wait() that returns it, if one does
        reaped: dict[int, int] = {}
        for p, one in enumerate(self.processes):
            for j, event in enumerate(one.events):
                kind, other = QUIET, -1
                lines: tuple[str, ...] = ()
                if event.kind == "write":
                    text = event.value
                    lines = lines_of(text)
                    kind = WRITE if lines else QUIET
                    if text and not text.endswith("\n"):
                        problem(f"{_quote(one.name)} writes {_quote(text)} without a newline at its end: part of a "
                                "line, and other output may land in the rest of it")
                    size = len(text.encode("utf-8", "surrogatepass"))
                    if size > PIPE_BUF:
                        problem(f"{_quote(one.name)} writes {size} bytes in one call, more than PIPE_BUF "
                                f"({PIPE_BUF}): such a write to a pipe is not atomic")
                elif event.kind in ("fork", "reap"):
                    kind = FORK if event.kind == "fork" else REAP
                    child = names.get(event.value)
                    if child is None:
                        problem(f"{_quote(one.name)} {'forks' if kind == FORK else 'reaps'} {_quote(event.value)}, "
                                "which is not in the record (a process is missing)")
                    elif self.processes[child].parent != one.name:
                        problem(f"{_quote(one.name)} {'forks' if kind == FORK else 'reaps'} {_quote(event.value)}, "
                                f"whose parent is {_quote(str(self.processes[child].parent))}")
                    elif kind == FORK:
                        if self._parent[child] >= 0:
                            problem(f"{_quote(event.value)} is forked twice")
                        else:
                            self._parent[child], self._fork_at[child], other = p, j, child
                    else:
                        if child in reaped:
                            problem(f"{_quote(one.name)} reaps {_quote(event.value)} twice")
                        elif self._parent[child] != p:
                            problem(f"{_quote(one.name)} reaps {_quote(event.value)} before forking it")
                        else:
                            reaped[child], other = p, child
                            self._reap_at[child] = j
                else:
                    problem(f"{_quote(one.name)} has an event of an unknown kind {_quote(event.kind)}")
                self._kind[p].append(kind)
                self._lines[p].append(lines)
                self._other[p].append(other)
        for p, one in enumerate(self.processes):
            if one.parent is not None and one.parent in names and self._parent[p] < 0:
                problem(f"{_quote(one.name)} is never forked by its parent {_quote(one.parent)}")
        self._length = [len(kinds) for kinds in self._kind]
        self._root = names.get(roots[0], -1) if len(roots) == 1 else -1
        if self._root >= 0 and not self.problems:
            reached = set(self._rows())
            for p, one in enumerate(self.processes):
                if p not in reached:
                    problem(f"{_quote(one.name)} descends from no fork of the first process")
        self.total_lines = sum(len(lines) for all_lines in self._lines for lines in all_lines)
        # Only where some line is printed by two writes can two states print the
        # same lines in future while being different states (see _key).
        writes = [lines for all_lines in self._lines for lines in all_lines if lines]
        printed = [line for lines in writes for line in lines]
        self._repeats = len(set(printed)) < len(printed)
        self._static: dict[int, tuple] = {}

    # -- the automaton ----------------------------------------------------------------
    #
    # A state is a tuple: how many steps each process has done, then the write
    # coming out (its process, the index of its next line), or -1, -1.

    def _started(self, done: Sequence[int], p: int) -> bool:
        parent = self._parent[p]
        return p == self._root or (parent >= 0 and done[parent] > self._fork_at[p])

    def _settle(self, done: list[int], woken: list[int]) -> None:
        """Take, in place, every fork, reap and empty write that can be taken now.

        These steps print nothing and are taken at once, as soon as they can
        be.  That loses no output: the graph is a partial order, so a step
        that can be taken stays takeable until it is taken, and taking it
        makes no other step wait.  Any schedule that takes such a step later
        prints the same lines as one that takes it now and then does the
        rest in the same order.  The silent steps also commute, so the state
        reached is the same whatever order they are taken in.
        """
        kinds, others, length = self._kind, self._other, self._length
        while woken:
            p = woken.pop()
            if not self._started(done, p):
                continue  # woken again by its fork
            j, steps = done[p], kinds[p]
            while j < length[p]:
                kind = steps[j]
                if kind == FORK:
                    woken.append(others[p][j])
                elif kind == REAP:
                    child = others[p][j]
                    if done[child] < length[child]:
                        break
                elif kind == WRITE:
                    break
                j += 1
            done[p] = j
            if j == length[p] and self._parent[p] >= 0:
                woken.append(self._parent[p])  # it exited: a wait() for it can return

    def _start(self) -> tuple[int, ...]:
        done = [0] * len(self.processes)
        self._settle(done, [self._root])
        return tuple(done) + (-1, -1)

    def _after_write(self, state: tuple[int, ...], p: int) -> tuple[int, ...]:
        n, j = len(self.processes), state[p] + 1
        if j < self._length[p] and self._kind[p][j] == WRITE:
            return state[:p] + (j,) + state[p + 1:n] + (-1, -1)  # another write: nothing to settle
        done = list(state[:n])
        done[p] += 1
        self._settle(done, [p])
        return tuple(done) + (-1, -1)

    def _moves(self, state: tuple[int, ...]) -> Iterator[tuple[str, int, tuple[int, ...]]]:
        """(the line printed, the process printing it, the state after) for each step from ``state``."""
        n = len(self.processes)
        writing, at = state[n], state[n + 1]
        if writing >= 0:
            # In the middle of one write: nothing else can come out until it ends.
            lines = self._lines[writing][state[writing]]
            after = state[:n] + (writing, at + 1) if at + 1 < len(lines) else self._after_write(state, writing)
            yield lines[at], writing, after
            return
        length, kinds, parents, fork_at = self._length, self._kind, self._parent, self._fork_at
        for p in range(n):
            j = state[p]
            if j < length[p] and kinds[p][j] == WRITE and (parents[p] < 0 or state[parents[p]] > fork_at[p]):
                lines = self._lines[p][j]
                after = state[:n] + (p, 1) if len(lines) > 1 else self._after_write(state, p)
                yield lines[0], p, after

    # A set of states of the deterministic automaton is a dict: each state's
    # key (``_key``) -> the state, so that states that will print the same
    # lines whatever happens are kept once.  The set is known by its keys.

    def _step(self, states: Iterable[tuple[int, ...]], budget: bool = True) -> dict[str, dict]:
        """The deterministic automaton's step: each line that can come next -> the set of
        states after it.  Adds the steps taken to ``_work`` and, with ``budget``, raises
        _OverBudget past ``max_work``."""
        out: dict[str, dict] = {}
        key = self._key if self._repeats else None
        for state in states:
            for line, _p, after in self._moves(state):
                self._work += 1
                afters = out.get(line)
                if afters is None:
                    afters = out[line] = {}
                afters.setdefault(after if key is None else key(after), after)
            if budget and self._work > self.max_work:
                raise _OverBudget
        return out

    def _first_set(self) -> dict:
        start = self._start()
        return {self._key(start): start}

    def _key(self, state: tuple[int, ...]) -> tuple:
        """What a state will do, with the processes' names left out: two states with
        one key print the same outputs from there on, so a set keeps one of them.

        Two processes that will print the same lines are interchangeable: say
        main.1 and main.2 each have `hello` left to print, and one state has
        printed main.1's, the other main.2's.  The key is the multiset of what
        the processes that no one waits for still do, each written as its
        steps: a write as its lines, a fork as what the child will do, a wait
        as what the child it waits for still does (so a child that its parent
        waits for is inside its parent's entry).  Only that can make a process
        wait, so nothing else matters.  When every line of the program is
        printed by one write only, the states themselves are their keys
        (nothing could be merged).
        """
        if not self._repeats:
            return state
        n = len(self.processes)
        done, writing, at = state[:n], state[n], state[n + 1]
        free = []
        for p in range(n):
            if done[p] < self._length[p] and self._started(done, p):
                parent = self._parent[p]
                if parent < 0 or self._reap_at[p] < done[parent]:
                    free.append(self._future(p, done[p], done, writing, at))
        return (writing >= 0, tuple(sorted(free)))

    def _future(self, p: int, j: int, done: Optional[Sequence[int]], writing: int, at: int) -> tuple:
        """Process ``p``'s steps from its ``j``th, for ``_key``: ("W", lines) a write (and
        ("W*", lines left) the write coming out), ("F", the child's steps) a fork, ("R",
        the child's steps left) a wait for a child already forked, ("r", the index of
        the fork in this tuple) a wait for a child it forks later on."""
        if done is None and p in self._static:
            return self._static[p]
        steps: list[tuple] = []
        placed: dict[int, int] = {}  # the index of a fork among the steps -> its index here
        for i in range(j, self._length[p]):
            kind, other = self._kind[p][i], self._other[p][i]
            if kind == WRITE:
                if i == j and writing == p:
                    steps.append(("W*", self._lines[p][i][at:]))
                else:
                    steps.append(("W", self._lines[p][i]))
            elif kind == FORK:
                placed[i] = len(steps)
                steps.append(("F", self._future(other, 0, None, -1, 0)))
            elif kind == REAP:
                if self._fork_at[other] in placed:
                    steps.append(("r", placed[self._fork_at[other]]))
                else:
                    # From a process's start (done is None) each child it waits for is forked first.
                    assert done is not None
                    steps.append(("R", self._future(other, done[other], done, writing, at)))
        future = tuple(steps)
        if done is None:
            self._static[p] = future
        return future

    # -- answers ------------------------------------------------------------------------

    @property
    def reason(self) -> Optional[str]:
        """Why ``count`` is None (the record's problems, or too many to count), else None."""
        if self.problems:
            return "; ".join(self.problems)
        return self._too_many

    def count(self) -> Optional[int]:
        """How many distinct outputs (sequences of lines) the program could print; None
        when the record has problems or there are too many to count (see ``reason``)."""
        if self._count is _NOT_YET:
            self._count = None if self.problems else self._counted()
        return self._count  # type: ignore[return-value]

    def _counted(self) -> Optional[int]:
        # Every step prints one line, so the sets of states fall into layers by
        # the number of lines printed, and each set is in one layer only: the
        # paths to each set are summed once, layer by layer, and the last
        # layer holds the ends.  (A set cannot get stuck before the end: a
        # step that cannot be taken waits for another one, and the graph has
        # no cycle, so some write can always come next.)
        first = self._first_set()
        layer: dict[frozenset, tuple[int, dict]] = {frozenset(first): (1, first)}
        sets, self._work = 1, 0
        too_many = (f"too many to count: more than {self.max_states:,} sets of states "
                    f"or {self.max_work:,} steps between states".replace(",", " "))
        for _ in range(self.total_lines):
            following: dict[frozenset, tuple[int, dict]] = {}
            for ways, states in layer.values():
                try:
                    nexts = self._step(states.values())
                except _OverBudget:
                    self._too_many = too_many
                    return None
                for afters in nexts.values():
                    known = frozenset(afters)
                    following[known] = (following.get(known, (0, afters))[0] + ways, afters)
                if sets + len(following) > self.max_states:
                    self._too_many = too_many
                    return None
            sets += len(following)
            layer = following
        return sum(ways for ways, _states in layer.values())

    def outputs(self, limit: int = 50) -> Optional[list[tuple[str, ...]]]:
        """Every distinct output, each a tuple of lines; None when there are more than
        ``limit`` (or ``count`` is None).

        They are sorted as Python sorts tuples of strings: by their first
        line, then their second, and so on.  (An order by process, main
        first, would depend on which of two processes that print the same
        line printed it, which is just what a distinct output leaves open.)
        """
        total = self.count()
        if total is None or total > limit:
            return None
        found: list[tuple[str, ...]] = []
        # At most ``limit`` outputs, each followed once: no budget needed.
        stack: list[tuple[dict, tuple[str, ...]]] = [(self._first_set(), ())]
        while stack:
            states, printed = stack.pop()
            if len(printed) == self.total_lines:
                found.append(printed)
                continue
            nexts = sorted(self._step(states.values(), budget=False).items())
            for line, afters in reversed(nexts):
                stack.append((afters, printed + (line,)))
        return found

    @staticmethod
    def _as_lines(output: Union[str, Sequence[str]]) -> list[str]:
        if isinstance(output, str):
            return list(lines_of(output))
        return list(output)

    def _follow(self, lines: list[str]) -> tuple[int, dict, Optional[str]]:
        """Run the deterministic automaton on ``lines``: (how many lines it took,
        the states it was in then, why it stopped early: "no", "budget" or None)."""
        states = self._first_set()
        self._work = 0
        for index, line in enumerate(lines):
            try:
                afters = self._step(states.values()).get(line)
            except _OverBudget:
                return index, states, "budget"
            if afters is None:
                return index, states, "no"
            states = afters
        return len(lines), states, None

    def possible(self, output: Union[str, Sequence[str]]) -> Optional[bool]:
        """Could the program have printed ``output`` (its lines, or its text)?  None when
        the record has problems, or when following it took more than the budget."""
        if self.problems:
            return None
        lines = self._as_lines(output)
        if len(lines) != self.total_lines:
            return False
        _taken, _states, stopped = self._follow(lines)
        return None if stopped == "budget" else stopped is None

    def why_not(self, output: Union[str, Sequence[str]]) -> Optional[str]:
        """Why the program cannot have printed ``output``, in a sentence for a student:
        the first line where it departs from every possible output, and what forbids
        that line there (program order, a fork, a wait, or an atomic write).
        None when the output is possible."""
        if self.problems:
            return "the record cannot be used: " + "; ".join(self.problems)
        lines = self._as_lines(output)
        taken, states, stopped = self._follow(lines[:self.total_lines])
        if stopped == "budget":
            return f"cannot tell: following the output past line {taken} took more than the budget"
        if stopped == "no":
            return self._explain(taken, lines[taken], min(states.values()))
        if len(lines) > self.total_lines:
            return (f"line {self.total_lines + 1} {_quote(lines[self.total_lines])} is one too many: "
                    f"the program prints {self.total_lines} line{'s' if self.total_lines != 1 else ''} in all.")
        if len(lines) < self.total_lines:
            line, p, _after = next(self._moves(min(states.values())))
            return (f"the output stops after {len(lines)} line{'s' if len(lines) != 1 else ''}, but the program "
                    f"prints {self.total_lines}: next could come {_quote(line)}, printed by {self._name(p)}.")
        return None

    # -- explanations -------------------------------------------------------------------

    def _name(self, p: int) -> str:
        return one_line(self.processes[p].name)

    def _explain(self, index: int, line: str, state: tuple[int, ...]) -> str:
        """Why ``line`` cannot be line ``index`` (from 0) when the automaton is in ``state``."""
        n = len(self.processes)
        head = f"line {index + 1} {_quote(line)} cannot come here"
        writers = [(p, j, k) for p in range(n) for j, lines in enumerate(self._lines[p])
                   for k, text in enumerate(lines) if text == line]
        if not writers:
            return f"{head}: no process prints it."
        writing, at = state[n], state[n + 1]
        if writing >= 0:
            lines = self._lines[writing][state[writing]]
            return (f"{head}: {self._name(writing)} is in the middle of one write of {len(lines)} lines "
                    f"({', '.join(map(_quote, lines))}), and nothing can land inside one write (an atomic write); "
                    f"the next line is {_quote(lines[at])}.")
        left = [(p, j, k) for p, j, k in writers if j >= state[p]]
        if not left:
            times = len(writers)
            return (f"{head}: it is printed {times} time{'s' if times != 1 else ''} in all, and "
                    f"{'every one' if times != 1 else 'that one'} came earlier.")
        # The line's first writer still to come: one whose line starts a write if there is one.
        p, j, k = min(left, key=lambda w: (w[2] > 0, w[0], w[1]))
        if k > 0:
            lines = self._lines[p][j]
            return (f"{head}: it is line {k + 1} of one write by {self._name(p)} that prints "
                    f"{', '.join(map(_quote, lines))} at once, so it comes right after {_quote(lines[k - 1])} "
                    "(an atomic write).")
        if not self._started(state, p):
            return (f"{head}: {self._name(p)} prints it, and {self._name(p)} does not exist yet: "
                    f"{self._unforked(state, p)}")
        return f"{head}: {self._name(p)} prints it {self._first_due(state, p)}"

    def _first_due(self, state: tuple[int, ...], p: int) -> str:
        """What process ``p`` (started) does before anything later: "after ... (why)."."""
        j = state[p]
        if self._kind[p][j] == WRITE:
            return (f"after {_quote(self._lines[p][j][0])}, which has not come yet (program order).")
        child = self._other[p][j]  # a wait(): the silent steps that could be taken were
        return (f"after its wait() returns {self._name(child)}, and {self._name(child)} has not exited yet: "
                f"{self._still(state, child)} (wait).")

    def _unforked(self, state: tuple[int, ...], p: int) -> str:
        """Why process ``p`` has not been forked yet: "its parent forks it only after ..."."""
        parent = self._parent[p]
        if not self._started(state, parent):
            return (f"{self._name(parent)} forks it, and {self._name(parent)} does not exist yet either: "
                    f"{self._unforked(state, parent)}")
        j = state[parent]
        if self._kind[parent][j] == WRITE:
            return f"{self._name(parent)} forks it only after printing {_quote(self._lines[parent][j][0])} (fork)."
        child = self._other[parent][j]
        return (f"{self._name(parent)} forks it only after its wait() returns {self._name(child)}, and "
                f"{self._name(child)} has not exited yet: {self._still(state, child)} (fork, wait).")

    def _still(self, state: tuple[int, ...], p: int) -> str:
        """What keeps process ``p`` from having exited, in a few words."""
        if not self._started(state, p):
            return "it has not even been forked"
        j = state[p]
        if self._kind[p][j] == WRITE:
            return f"it still has to print {_quote(self._lines[p][j][0])}"
        return f"it is waiting for {self._name(self._other[p][j])} itself"

    # -- the drawings ---------------------------------------------------------------------
    #
    # Each process is a row of nodes: its start, one node per event, its exit.
    # A node is (process, place), place 0 the start and len(events) + 1 the exit.

    def _edges(self) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
        """(kind, from, to) for each edge: "program" order, "fork" (to the child's start),
        "reap" (from the child's exit).  Forks and reaps of the record's problems are left out."""
        edges = []
        for p, steps in enumerate(self._kind):
            for place in range(len(steps) + 1):
                edges.append(("program", (p, place), (p, place + 1)))
            for j, kind in enumerate(steps):
                child = self._other[p][j]
                if child < 0:
                    continue
                if kind == FORK:
                    edges.append(("fork", (p, j + 1), (child, 0)))
                elif kind == REAP:
                    edges.append(("reap", (child, self._length[child] + 1), (p, j + 1)))
        return edges

    def _rows(self) -> list[int]:
        """The processes top to bottom: the first, then each child under its parent in fork order."""
        rows: list[int] = []

        def walk(p: int) -> None:
            rows.append(p)
            for j, kind in enumerate(self._kind[p]):
                if kind == FORK and self._other[p][j] >= 0 and self._other[p][j] not in rows:
                    walk(self._other[p][j])

        if self._root >= 0:
            walk(self._root)
        return rows + [p for p in range(len(self.processes)) if p not in rows]

    def _depths(self) -> dict[tuple[int, int], int]:
        """Each node's longest path from a start, so that every edge goes rightward.
        (Nodes on a cycle, which only a record with problems can have, follow program order.)"""
        edges = self._edges()
        nodes = [(p, place) for p in range(len(self.processes)) for place in range(self._length[p] + 2)]
        into: dict[tuple[int, int], int] = defaultdict(int)
        out: dict[tuple[int, int], list] = defaultdict(list)
        for _kind, a, b in edges:
            into[b] += 1
            out[a].append(b)
        depth = {node: 0 for node in nodes}
        ready = [node for node in nodes if not into[node]]
        placed = set()
        while ready:
            node = ready.pop()
            placed.add(node)
            for after in out[node]:
                depth[after] = max(depth[after], depth[node] + 1)
                into[after] -= 1
                if not into[after]:
                    ready.append(after)
        for p, place in nodes:
            if (p, place) not in placed and place:
                depth[(p, place)] = max(depth[(p, place)], depth[(p, place - 1)] + 1)
        return depth

    def _label(self, p: int, place: int) -> str:
        """A node's words, before any escaping."""
        if place == 0:
            return "start"
        if place == self._length[p] + 1:
            return "exit"
        event = self.processes[p].events[place - 1]
        if event.kind == "write":
            # Its lines, without the last newline; a write of several lines shows ⏎ between them.
            return " ⏎ ".join(lines_of(event.value)) or "(a write of nothing)"
        if event.kind == "fork":
            return f"fork {event.value}"
        if event.kind == "reap":
            return f"wait {event.value}"
        return f"{event.kind} {event.value}"

    def mermaid(self) -> str:
        """A Mermaid flowchart, left to right: a subgraph per process, one node per event
        (writes show their text, escapes visible), solid arrows for program order and
        forks, dashed ones from a child's exit to the wait() that returned it."""
        lines = ["flowchart LR"]
        for p in self._rows():
            lines.append(f'    subgraph s{p}["{_mermaid_text(self.processes[p].name)}"]')
            for place in range(self._length[p] + 2):
                event = self.processes[p].events[place - 1] if 0 < place <= self._length[p] else None
                if event is not None and event.kind == "write" and event.value:
                    label = "<br/>".join(_mermaid_text(line) for line in lines_of(event.value))
                else:
                    label = _mermaid_text(self._label(p, place))
                shape = ('(("', '"))') if place in (0, self._length[p] + 1) else ('["', '"]')
                lines.append(f"        n{p}_{place}{shape[0]}{label}{shape[1]}")
            chain = " --> ".join(f"n{p}_{place}" for place in range(self._length[p] + 2))
            lines.append(f"        {chain}")
            lines.append("    end")
        for kind, (a, at), (b, bt) in self._edges():
            if kind == "fork":
                lines.append(f"    n{a}_{at} -->|fork| n{b}_{bt}")
            elif kind == "reap":
                lines.append(f"    n{a}_{at} -.->|wait| n{b}_{bt}")
        return "\n".join(lines)

    def text(self) -> str:
        """One line per process, its events in order, for a terminal or report.md."""
        rows = self._rows()
        width = max((len(self._name(p)) for p in rows), default=0)
        out = []
        for p in rows:
            born = f"(forked by {self._name(self._parent[p])}) " if self._parent[p] >= 0 else ""
            steps = []
            for place in range(self._length[p] + 2):
                label = one_line(self._label(p, place))
                steps.append(f'"{label}"' if 0 < place <= self._length[p] and self._kind[p][place - 1] in (WRITE, QUIET)
                             else label)
            out.append(f"{self._name(p).ljust(width)}  {born}{' → '.join(steps)}")
        return "\n".join(out)

    def svg(self) -> str:
        """The process graph as inline SVG, in the look of forklab.pictures.

        One horizontal line per process, its name on the left; events left to
        right at their depth in the graph, so every edge goes rightward.  A
        write is a green dot with its text above (cut short, whole in its
        tooltip), a fork a line down to the child's start, a wait a dashed
        arrow from the child's exit to the point where wait() returned.
        """
        rows = self._rows()
        row_of = {p: index for index, p in enumerate(rows)}
        depth = self._depths()
        names = [one_line(self.processes[p].name) for p in rows]
        label_w = min(max(max((_width(name, 13) for name in names), default=0) + 18, 60), 220)
        # A write's text, cut short to TEXT_W px, stands centred above its dot:
        # each column is as far from the next as their widest texts need.
        shown: dict[tuple[int, int], str] = {}
        for p, one in enumerate(self.processes):
            for place, event in enumerate(one.events, start=1):
                if event.kind == "write":
                    text = one_line(self._label(p, place))
                    while _width(text, 12) > TEXT_W and len(text) > 1:
                        text = text[:-2] + "…"
                    shown[(p, place)] = text
        columns = max(depth.values(), default=0) + 1
        wide = [0.0] * columns
        for node, text in shown.items():
            wide[depth[node]] = max(wide[depth[node]], _width(text, 12))
        xs = [label_w + 12.0]
        for column in range(1, columns):
            xs.append(xs[-1] + max(36, (wide[column - 1] + wide[column]) / 2 + 12))
        top, row_h = 40, 50

        def x(node: tuple[int, int]) -> float:
            return xs[depth[node]]

        def y(p: int) -> float:
            return top + row_of[p] * row_h

        width = xs[-1] + max(wide[-1] / 2, 8) + 12
        height = top + (len(rows) - 1) * row_h + 24 if rows else top
        title = "process graph: " + ", ".join(names)
        parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
                 f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="process graph" '
                 'font-family="system-ui, sans-serif" font-size="13">',
                 f"<title>{escape(title)}</title>",
                 '<defs><marker id="forklab-wait-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                 'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#0969da" />'
                 "</marker></defs>"]
        for p in rows:
            name = escape(self._name(p))
            start, end = (p, 0), (p, self._length[p] + 1)
            parts.append(f'<g class="graph-process" data-role="{name}">'
                         f'<text x="4" y="{y(p) + 4:.0f}" class="role" fill="#1b1b1b">{name}</text>'
                         f'<line x1="{x(start):.0f}" y1="{y(p):.0f}" x2="{x(end):.0f}" y2="{y(p):.0f}" '
                         'stroke="#57606a" stroke-width="2" /></g>')
        for kind, a, b in self._edges():
            (x1, y1), (x2, y2) = (x(a), y(a[0])), (x(b), y(b[0]))
            if kind == "fork":
                parts.append(f'<path class="fork" d="M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}" fill="none" '
                             f'stroke="#57606a" stroke-width="1.5"><title>'
                             f'{escape(f"{self._name(a[0])} forks {self._name(b[0])}")}</title></path>')
            elif kind == "reap":
                # The arrow stops short of the wait's point, which it points at.
                run, rise = x2 - x1, y2 - y1
                length = max((run * run + rise * rise) ** 0.5, 1.0)
                x2, y2 = x2 - run * 6 / length, y2 - rise * 6 / length
                parts.append(f'<path class="wait" d="M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}" fill="none" '
                             'stroke="#0969da" stroke-width="1.5" stroke-dasharray="5 4" '
                             f'marker-end="url(#forklab-wait-head)"><title>'
                             f'{escape(f"{self._name(b[0])} wait() returns {self._name(a[0])}")}</title></path>')
        for p in rows:
            name = self._name(p)
            for place in range(self._length[p] + 2):
                node = (p, place)
                cx, cy = x(node), y(p)
                if place == 0:
                    parts.append(f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="4" fill="#fff" stroke="#57606a" '
                                 f'stroke-width="1.5"><title>{escape(name)} starts</title></circle>')
                    continue
                if place == self._length[p] + 1:
                    parts.append(f'<rect x="{cx - 4:.0f}" y="{cy - 6:.0f}" width="8" height="12" fill="#57606a">'
                                 f'<title>{escape(name)} exits</title></rect>')
                    continue
                event = self.processes[p].events[place - 1]
                if event.kind == "write":
                    text = one_line(self._label(p, place))
                    parts.append(f'<g class="write"><title>{escape(f"{name} writes {text}")}</title>'
                                 f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="5" fill="#2da44e" />'
                                 f'<text x="{cx:.0f}" y="{cy - 9:.0f}" text-anchor="middle" class="command" '
                                 f'font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12" '
                                 f'fill="#57606a">{escape(shown[node])}</text></g>')
                else:
                    wait = event.kind == "reap"
                    parts.append(f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="3.5" '
                                 f'fill="{"#fff" if wait else "#57606a"}" stroke="{"#0969da" if wait else "#57606a"}" '
                                 f'stroke-width="1.5"><title>{escape(one_line(f"{name}: {self._label(p, place)}"))}'
                                 "</title></circle>")
        parts.append("</svg>")
        return "".join(parts)
