"""`invoke puzzle`: OSTEP's fork.py simulator, and the same puzzle run for real.

OSTEP's homework simulator ``fork.py`` (cpu-api/ in remzi-arpacidusseau/ostep-homework)
draws a random list of actions ("a forks b", "b EXITS") and asks for the final
process tree.  This module draws the same actions from the same seed (fork.py's
own random calls, in the same order), works out fork.py's answer and Linux's,
writes a Python program that performs the actions in exactly that order across
real processes, runs it in the lab sandbox as `invoke run` runs a script, and
reads the real tree from the program's ``final`` checkpoint.

Two rules for orphans:

- fork.py, without -R: every descendant of the exiting process (children,
  grandchildren, ...) becomes a child of ``a``, the root, at once; with -R
  (local reparent): only its children move, to the exiting process's parent.
  An exited process leaves the tree at once.
- Linux: only the exiting process's own children move, to the nearest living
  ancestor that is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), else
  to the container's init.  In the kit both are the runner, named ``reaper``,
  which reaps what it adopts.  The exited process itself stays a zombie until
  its parent reaps it; the puzzle's processes never reap while they wait for
  their turn, so a process that exits under one of them stays a zombie to the end.
  With ``--reparent local`` every process is a subreaper, so an orphan goes to
  the exiting process's parent, as fork.py -R says.

Everything here but :func:`run_puzzle` is pure: the same seed gives the same
actions, the same answers and the same program text, byte for byte.
"""

from __future__ import annotations

import random
import re
import string
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from forklab.errors import UsageError

#: fork.py's defaults: 5 actions, 70% of them forks.
DEFAULT_ACTIONS = 5
DEFAULT_FORKS = 70
#: Each fork is a real process (the sandbox allows 64 at once): at most this many actions.
MAX_ACTIONS = 30
#: Seeds are whole numbers from 0 to this (fork.py's -1 means "no seed"; leave --seed out instead).
MAX_SEED = 2**31 - 1
#: The checkpoint the program calls after its last action (the runner's own last snapshot is "end").
CHECKPOINT = "final"
#: The runner's role in reports: PID 1 of the container (or its child subreaper).
REAPER = "reaper"
ROOT = "a"
#: fork.py names its processes a, b, ..., z, A, ..., Z (30 actions never need more).
NAMES = string.ascii_lowercase + string.ascii_uppercase


@dataclass(frozen=True)
class Action:
    """One step: ``actor`` forks ``child``, or ``actor`` exits (``child`` is None)."""

    actor: str
    child: Optional[str] = None

    @property
    def is_fork(self) -> bool:
        return self.child is not None

    def fork_py(self) -> str:
        """As fork.py prints it: "a forks b", "b EXITS"."""
        return f"{self.actor} forks {self.child}" if self.is_fork else f"{self.actor} EXITS"

    def __str__(self) -> str:
        """As the program prints it: "a forks b", "b exits"."""
        return f"{self.actor} forks {self.child}" if self.is_fork else f"{self.actor} exits"


# -- generating: fork.py's random calls, in fork.py's order ----------------------------------

def generate(seed: int, actions: int = DEFAULT_ACTIONS, forks: int = DEFAULT_FORKS) -> list[Action]:
    """The actions fork.py draws for ``-s SEED -a ACTIONS -f FORKS/100``, the same ones.

    fork.py seeds Python's generator with the seed, then for each action draws
    random() < fork percentage: a fork by a random living process (a new name),
    else the exit of a random living process; drawing the root for an exit is
    thrown away and drawn again, so ``a`` never exits.
    """
    if not 0 <= actions <= len(NAMES) - 1:
        raise ValueError(f"actions must be from 0 to {len(NAMES) - 1}")
    if not 1 <= forks <= 100:
        raise ValueError("forks must be a percentage from 1 to 100")
    rng = random.Random(seed)
    fraction = forks / 100

    def choice(items: list) -> str:
        # fork.py's random_choice: int(low + random() * (high - low + 1)), not random.choice.
        return items[int(0 + rng.random() * (len(items) - 1 - 0 + 1))]

    living, names = [ROOT], iter(NAMES[1:])
    drawn: list[Action] = []
    while len(drawn) < actions:
        if rng.random() < fraction:
            parent, child = choice(living), next(names)
            drawn.append(Action(parent, child))
            living.append(child)
        else:
            leaving = choice(living)
            if leaving == ROOT:
                continue  # fork.py: "no killing root process, sorry"
            living.remove(leaving)
            drawn.append(Action(leaving))
    return drawn


def processes(actions: list[Action]) -> list[str]:
    """Every process the actions make, in the order they are made: a, b, c, ..."""
    return [ROOT] + [action.child for action in actions if action.child is not None]


def parse_actions(text: str) -> list[Action]:
    """fork.py's -A format, "a+b,b+c,c-": for tests and hand-made puzzles."""
    made: list[Action] = []
    living = [ROOT]
    for part in (p.strip() for p in text.split(",") if p.strip()):
        fork = re.fullmatch(r"([A-Za-z])\+([A-Za-z])", part)
        leave = re.fullmatch(r"([A-Za-z])-", part)
        if fork and fork.group(1) in living and fork.group(2) not in processes(made):
            made.append(Action(fork.group(1), fork.group(2)))
            living.append(fork.group(2))
        elif leave and leave.group(1) in living and leave.group(1) != ROOT:
            made.append(Action(leave.group(1)))
            living.remove(leave.group(1))
        else:
            raise ValueError(f"bad action {part!r}: X+Y (a living X forks a new Y) or X- (a living X, not a, exits)")
    return made


# -- the two answers ---------------------------------------------------------------------------

@dataclass
class Tree:
    """A final process tree: each process's parent and what became of it.

    ``parent`` holds every process still in the tree (living ones, and for
    Linux zombies too), including ``a``, whose parent is ``reaper`` (who
    started the program).  ``state`` is "alive", "zombie" or "reaped" for every
    process ever made (fork.py has no zombies: an exited process is "gone").
    ``children`` keeps each parent's children in the order they came to it.
    """

    parent: dict
    state: dict
    children: dict

    def living(self) -> dict:
        """name -> parent, for the processes still running."""
        return {name: self.parent[name] for name in self.parent if self.state[name] == "alive"}

    def zombies(self) -> dict:
        """name -> parent, for the processes that exited and are not yet reaped."""
        return {name: self.parent[name] for name in self.parent if self.state[name] == "zombie"}


def _tree() -> Tree:
    return Tree(parent={ROOT: REAPER}, state={ROOT: "alive"}, children={REAPER: [ROOT], ROOT: []})


def _move(tree: Tree, name: str, to: str) -> None:
    tree.children[tree.parent[name]].remove(name)
    tree.parent[name] = to
    tree.children.setdefault(to, []).append(name)


def simulate(actions: list[Action], local: bool = False) -> Tree:
    """fork.py's answer (its -c), with -R when ``local``.

    Without -R, fork.py gives every descendant of the exiting process to ``a``
    (its whole subtree, flattened: grandchildren too); with -R only the
    children move, to the exiting process's parent.  The exited process leaves
    the tree at once.
    """
    tree = _tree()
    for action in actions:
        if action.is_fork:
            _fork(tree, action)
            continue
        leaving = action.actor
        above = tree.parent[leaving]
        if local:
            for orphan in list(tree.children[leaving]):
                _move(tree, orphan, above)
        else:
            for descendant in _descendants(tree, leaving):  # fork.py's order: depth first
                tree.parent[descendant] = ROOT
                tree.children[ROOT].append(descendant)
            for descendant in _descendants(tree, leaving):
                tree.children[descendant] = []
        tree.children[above].remove(leaving)
        del tree.parent[leaving]
        tree.children[leaving] = []
        tree.state[leaving] = "gone"
    return tree


def _fork(tree: Tree, action: Action) -> None:
    """A fork, the same in fork.py and in Linux: the child, alive, under its parent."""
    assert action.child is not None
    tree.parent[action.child] = action.actor
    tree.state[action.child] = "alive"
    tree.children[action.actor].append(action.child)
    tree.children[action.child] = []


def _descendants(tree: Tree, name: str) -> list[str]:
    """fork.py's collect_children, without ``name`` itself: depth first, in order."""
    found = []
    for child in list(tree.children[name]):
        found.append(child)
        found.extend(_descendants(tree, child))
    return found


def linux(actions: list[Action], local: bool = False) -> Tree:
    """What Linux does with the same actions, in the kit's container.

    When a process exits, only its own children (running or zombies) move: to
    the nearest living ancestor that is a child subreaper, else to init.  In
    the kit both mean the runner (``reaper``) unless ``local`` made every
    puzzle process a subreaper: then the nearest living ancestor is the
    exiting process's parent.  The runner reaps at once what comes to it (a
    zombie it adopts is reaped too); a puzzle process never reaps while the
    puzzle runs, so a process that exits under one stays a zombie of it (and of
    whoever adopts it, if that parent exits too).
    """
    tree = _tree()
    for action in actions:
        if action.is_fork:
            _fork(tree, action)
            continue
        leaving = action.actor
        heir = tree.parent[leaving] if local else REAPER
        for orphan in list(tree.children[leaving]):
            _move(tree, orphan, heir)
            if heir == REAPER and tree.state[orphan] == "zombie":
                _reaped(tree, orphan)
        tree.state[leaving] = "zombie"
        if tree.parent[leaving] == REAPER:
            _reaped(tree, leaving)
    return tree


def _reaped(tree: Tree, name: str) -> None:
    tree.children[tree.parent[name]].remove(name)
    del tree.parent[name]
    tree.state[name] = "reaped"


def differences(actions: list[Action], local: bool) -> list[str]:
    """Where fork.py's final tree and Linux's differ, in plain sentences (none when they agree)."""
    simulated, real = simulate(actions, local), linux(actions, local)
    return compare(simulated, real)


def compare(simulated: Tree, real: Tree) -> list[str]:
    """Sentences for each way the real tree differs from fork.py's (the real one may come from a run)."""
    sentences = []
    moved = {name: (simulated.parent[name], parent) for name, parent in real.living().items()
             if name in simulated.parent and simulated.parent[name] != parent}
    to_reaper = sorted(name for name, (_, now) in moved.items() if now == REAPER)
    elsewhere = sorted(name for name, (_, now) in moved.items() if now != REAPER)
    if to_reaper:
        sentences.append(f"fork.py gives {_names(to_reaper)} to a; Linux gives {_them(to_reaper)} to the "
                         "reaper (the container's init), since no living ancestor is a child subreaper")
    if elsewhere:
        where = "; ".join(f"{name} under {moved[name][1]}, not {moved[name][0]}" for name in elsewhere)
        sentences.append(f"fork.py moves a whole subtree to a, Linux only the exiting process's own "
                         f"children, so {where}")
    zombies = real.zombies()
    if zombies:
        listed = ", ".join(f"{name} (of {parent})" for name, parent in sorted(zombies.items()))
        sentences.append(f"fork.py drops an exited process at once; Linux keeps it as a zombie until its "
                         f"parent reaps it, and these parents never do while the puzzle runs: {listed}")
    return sentences


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


def draw(tree: Tree, top: str = ROOT, zombies: bool = True) -> list[str]:
    """The tree as fork.py draws it (└── and ├──), zombies marked "(zombie)"."""
    lines = [top]

    def walk(name: str, prefix: str) -> None:
        kids = [k for k in tree.children.get(name, []) if k in tree.parent and
                (zombies or tree.state[k] == "alive")]
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            mark = " (zombie)" if tree.state[kid] == "zombie" else ""
            lines.append(f"{prefix}{'└── ' if last else '├── '}{kid}{mark}")
            walk(kid, prefix + ("    " if last else "│   "))

    walk(top, "")
    return lines


def draw_real(tree: Tree) -> list[str]:
    """The Linux tree from the reaper down: a, and whatever the reaper adopted beside it."""
    return draw(tree, REAPER)


# -- the program ---------------------------------------------------------------------------------

PROGRAM = '''\
"""fork.py's puzzle {title}, played by real processes.

The actions:
{listing}
Each process has a pipe, made before the first fork.  A process waits for its
turn by reading its own pipe; when it has acted it writes the next turn (the
step, and every pid made so far) to the pipe of the process that acts next.
So the actions happen in exactly this order, whatever the scheduler does.
After an exit, the next process to act first waits until that process has
really ended and its orphans have moved (with a pidfd: Linux 5.3 or later).
No process reaps a child while the puzzle runs: a child that exits stays a
zombie until the end, unless its parent is the reaper (the container's init).
{reparent_note}"""
import json
import os
import select
import sys
import time

from forklab.checkpoint import checkpoint

ACTIONS = [
{actions}]
NAMES = {names!r}
EXITED = {{actor for actor, verb, _ in ACTIONS if verb == "exits"}}
LOCAL_REPARENT = {local!r}   # --reparent local: each process a child subreaper
PIPES = {{name: os.pipe() for name in NAMES}}   # every pipe made before the first fork


def live(me):
    """The life of process ME: wait for each of its turns, act, pass the turn on."""
    if LOCAL_REPARENT:
        become_subreaper()
    while True:
        message = receive(me)
        if message == "quit":
            leave()
        step, pids = message["step"], message["pids"]
        if step > 0 and ACTIONS[step - 1][1] == "exits":
            wait_until_ended(pids[ACTIONS[step - 1][0]])
        if step == len(ACTIONS):
            finish(pids)             # only a gets here; it never returns
        actor, verb, child = ACTIONS[step]
        if verb == "forks":
            pid = os.fork()
            if pid == 0:
                live(child)          # the new process starts its own life; it never returns
            pids[child] = pid
            print(me, "forks", child, flush=True)
            send(next_actor(step), {{"step": step + 1, "pids": pids}})
        else:
            print(me, "exits", flush=True)
            send(next_actor(step), {{"step": step + 1, "pids": pids}})
            os._exit(0)              # no reaping, no cleanup: my children are orphans now


def next_actor(step):
    """Who acts after STEP: the next action's actor, or a once the actions are done."""
    return ACTIONS[step + 1][0] if step + 1 < len(ACTIONS) else "a"


def finish(pids):
    """After the last action (in a): look at the process table, then tell every living process to end."""
    wait_for_the_reaper(pids)
    checkpoint("{checkpoint}", **pids)
    for name in NAMES[1:]:
        if name not in EXITED:
            send(name, "quit")
    leave()


def leave():
    """End this process: flush what it printed, reap its children (the puzzle is over), exit."""
    sys.stdout.flush()
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    os._exit(0)


# -- the plumbing ------------------------------------------------------------------

def send(name, message):
    """Write one message to NAME's pipe (one write of less than 4096 bytes arrives whole)."""
    os.write(PIPES[name][1], json.dumps(message).encode() + b"\\n")


def receive(name):
    """Block until a message comes on NAME's own pipe."""
    return json.loads(os.read(PIPES[name][0], 4096))


def wait_until_ended(pid):
    """Block until process PID has exited (a zombie now, or already reaped)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return                       # exited and already reaped
    select.select([fd], [], [])      # a pidfd becomes readable once its process has exited
    os.close(fd)


def wait_for_the_reaper(pids):
    """The reaper reaps the zombies that come to it, but not at once: give it up to 2 s,
    so that the final look does not catch one it is about to reap."""
    ours = set(pids.values())
    for _ in range(2000):
        seen = [parent_and_state(pid) for pid in ours]
        if not any(s and s[1] == "Z" and s[0] not in ours for s in seen):
            return
        time.sleep(0.001)


def parent_and_state(pid):
    """(parent pid, state letter) of process PID from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{{pid}}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return int(fields[1]), fields[0]


def become_subreaper():
    """My orphaned descendants come to me (or my nearest living subreaper ancestor), not to init."""
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


if __name__ == "__main__":
    send("a", {{"step": 0, "pids": {{"a": os.getpid()}}}})
    live("a")
'''


def program(actions: list[Action], seed: int, forks: int = DEFAULT_FORKS, local: bool = False) -> str:
    """The Python program that plays ``actions`` with real processes (shown to the student)."""
    listing = "".join(f"    {action}\n" for action in actions) or "    (none)\n"
    rows = "".join(f"    ({a.actor!r}, 'forks', {a.child!r}),\n" if a.is_fork
                   else f"    ({a.actor!r}, 'exits', None),\n" for a in actions)
    note = ("With --reparent local each process is a child subreaper (prctl), so an orphan\n"
            "goes to its nearest living ancestor, as fork.py -R says.\n" if local else
            "An orphan goes to the reaper: no process here is a child subreaper.\n")
    return PROGRAM.format(title=describe(seed, len(actions), forks, local), listing=listing, actions=rows,
                          names="".join(processes(actions)), local=local, checkpoint=CHECKPOINT,
                          reparent_note=note)


def describe(seed: int, actions: int, forks: int, local: bool) -> str:
    """fork.py's command line for this puzzle: `fork.py -s 4 -a 5 -f 0.7 [-R]`."""
    return f"`fork.py -s {seed} -a {actions} -f {forks / 100:g}{' -R' if local else ''}`"


# -- predictions ---------------------------------------------------------------------------------

#: The question --predict asks (and --answer answers).
QUESTION = "Each living process's parent at the end?"
#: Words taken to mean the runner, the container's init.
REAPER_WORDS = {"reaper", "init", "1"}


def parse_prediction(text: str, names: list[str]) -> dict:
    """"b=a c=reaper" (spaces, commas or semicolons between pairs) -> {"b": "a", "c": "reaper"}.

    Names are the puzzle's processes; a parent may also be ``reaper`` (or
    ``init``, ``1``).  ``a`` may be left out (its parent is the reaper, which
    started the program).  Raises ValueError, with a sentence, on anything else.
    """
    pairs: dict = {}
    words = [word for word in re.split(r"[\s,;]+", text.strip()) if word]
    if not words:
        raise ValueError("give each living process's parent, e.g. b=a c=reaper")
    for word in words:
        match = re.fullmatch(r"([A-Za-z])=([A-Za-z]+|1)", word)
        if not match:
            shown = word if len(word) <= 24 else word[:24] + "..."
            raise ValueError(f"{shown!r} is not NAME=PARENT (e.g. b=a or c=reaper)")
        name, parent = match.group(1), match.group(2)
        parent = REAPER if parent.lower() in REAPER_WORDS else parent
        for who in (name, parent):
            if who != REAPER and who not in names:
                raise ValueError(f"{who!r} is not a process of this puzzle ({', '.join(names)}, or reaper)")
        if name in pairs:
            raise ValueError(f"{name} is given twice")
        if name == parent:
            raise ValueError(f"{name} cannot be its own parent")
        pairs[name] = parent
    return pairs


def answer_text(pairs: dict) -> str:
    """{"c": "reaper", "b": "a"} -> "b=a c=reaper", in the order the processes were made."""
    order = NAMES + REAPER
    return " ".join(f"{name}={pairs[name]}" for name in sorted(pairs, key=order.index)) or "(no process)"


def graded(pairs: dict, living: dict) -> bool:
    """Right when every living process but ``a`` is named with its parent, and no other is;
    ``a`` may be left out (named, it must be right too)."""
    wanted = {name: parent for name, parent in living.items() if name != ROOT}
    given = {name: parent for name, parent in pairs.items() if name != ROOT}
    return given == wanted and pairs.get(ROOT, living.get(ROOT)) == living.get(ROOT)


def ask(names: list[str], prompt: Callable[[str], str], say: Callable[[str], None]) -> dict:
    """Ask until the answer makes sense (a terminal); Ctrl-D gives up."""
    while True:
        try:
            text = prompt("your prediction (e.g. b=a c=reaper): ")
        except EOFError:
            raise UsageError("no prediction given; give one with --answer \"b=a c=reaper\"") from None
        try:
            return parse_prediction(text, names)
        except ValueError as exc:
            say(f"  {exc}; try again")


# -- options ---------------------------------------------------------------------------------------

def whole(text: str, option: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` written in ASCII digits, or a one-line UsageError."""
    text = str(text).strip()
    if not re.fullmatch(r"[0-9]{1,12}", text) or not low <= int(text) <= high:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise UsageError(f"{option} {shown}: give a whole number from {low} to {high}")
    return int(text)


def reparent_choice(text: str) -> bool:
    text = str(text or "").strip()
    if text in ("", "local"):
        return text == "local"
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise UsageError(f"--reparent {shown}: the only choice is local (each process a child subreaper, "
                     "as fork.py -R); leave it out for orphans to go to the reaper")


def report_name(seed: int, actions: int, forks: int, local: bool) -> str:
    """puzzle-4, puzzle-4-local; a count or percentage other than fork.py's default is in the name too."""
    name = f"puzzle-{seed}"
    if actions != DEFAULT_ACTIONS:
        name += f"-a{actions}"
    if forks != DEFAULT_FORKS:
        name += f"-f{forks}"
    return name + ("-local" if local else "")


# -- reading the run -------------------------------------------------------------------------------

def real_tree(document: dict, actions: list[Action]) -> Optional[Tree]:
    """The tree the ``final`` snapshot shows, or None when the program never reached it."""
    snap = next((s for s in document.get("snapshots", []) if s["checkpoint"] == CHECKPOINT), None)
    if snap is None:
        return None
    rows = {row["role"]: row for row in snap["processes"] if row.get("role")}
    tree = Tree(parent={}, state={}, children={REAPER: []})
    names = processes(actions)
    for name in names:
        tree.children.setdefault(name, [])
        row = rows.get(name)
        if row is None:
            tree.state[name] = "reaped"
            continue
        tree.state[name] = "zombie" if row["state"] == "Z" else "alive"
        tree.parent[name] = row.get("parent_role") or "?"
    for name in names:  # children in the order they were made
        if name in tree.parent:
            tree.children.setdefault(tree.parent[name], []).append(name)
    return tree


def same_tree(one: Tree, other: Tree) -> bool:
    return one.parent == other.parent and one.state == other.state


def expectations(model: Tree) -> list:
    """The Linux model as the run's checks: each process's parent and state at ``final``, or its absence."""
    from forklab import catalog

    checks: list = []
    for name in model.state:
        state, parent = model.state[name], str(model.parent.get(name))
        if state == "alive":
            checks.append(catalog.ParentCheck(check="parent", checkpoint=CHECKPOINT, role=name, parent=parent,
                                              says=f"{name} is alive, a child of {parent}"))
        elif state == "zombie":
            checks.append(catalog.StateCheck(check="state", checkpoint=CHECKPOINT, role=name, state="Z",
                                             says=f"{name} exited and is a zombie"))
            checks.append(catalog.ParentCheck(check="parent", checkpoint=CHECKPOINT, role=name, parent=parent,
                                              says=f"zombie {name}'s parent is {parent}, which has not reaped it"))
        else:
            checks.append(catalog.AbsentCheck(check="absent", checkpoint=CHECKPOINT, role=name,
                                              says=f"{name} exited and the reaper reaped it"))
    return checks


# -- the task --------------------------------------------------------------------------------------

@dataclass
class Options:
    seed: int
    actions: int
    forks: int
    local: bool
    chosen_seed: bool = False


def options(seed: str, actions: str, forks: str, reparent: str) -> Options:
    """The task's text options checked, each bad one a one-line UsageError (exit 2)."""
    chosen = not str(seed or "").strip()
    return Options(
        seed=random.SystemRandom().randrange(10000) if chosen else whole(seed, "--seed", 0, MAX_SEED),
        actions=whole(actions, "--actions", 1, MAX_ACTIONS) if str(actions or "").strip() else DEFAULT_ACTIONS,
        forks=whole(forks, "--forks", 1, 100) if str(forks or "").strip() else DEFAULT_FORKS,
        local=reparent_choice(reparent), chosen_seed=chosen)


def solution_lines(opts: Options, actions: list[Action]) -> list[str]:
    """fork.py's -c: the simulator's final tree, then Linux's and where they differ."""
    simulated, model = simulate(actions, opts.local), linux(actions, opts.local)
    lines = [f"fork.py's final tree ({describe(opts.seed, opts.actions, opts.forks, opts.local)[1:-1]} -c -F):"]
    lines += [f"  {line}" for line in draw(simulated)]
    lines += ["Linux's final tree, as the kit's model works it out:"]
    lines += [f"  {line}" for line in draw_real(model)]
    lines += _difference_lines(compare(simulated, model))
    return lines


def _difference_lines(sentences: list[str]) -> list[str]:
    if not sentences:
        return ["fork.py and Linux agree on this one."]
    return ["Where they differ:"] + [f"  - {sentence}." for sentence in sentences]


def run_puzzle(settings, term, seed: str = "", actions: str = "", forks: str = "", reparent: str = "",
               predict: bool = False, answer: str = "", compute: bool = False) -> int:
    """`invoke puzzle`: draw fork.py's actions, run them for real, show both trees and the difference."""
    import dataclasses
    import tempfile
    from pathlib import Path

    from rich.markup import escape

    from forklab import catalog, commands, report

    opts = options(seed, actions, forks, reparent)
    if compute and (predict or answer):
        raise UsageError("--compute shows the answer; leave out --predict and --answer")
    if predict and not answer and not sys.stdin.isatty():
        raise UsageError("--predict needs a terminal to ask in, or --answer \"b=a c=reaper\"")
    drawn = generate(opts.seed, opts.actions, opts.forks)
    names = processes(drawn)
    guess = None
    if answer:
        try:
            guess = parse_prediction(answer, names)
        except ValueError as exc:
            raise UsageError(f"--answer {answer[:40]!r}: {exc}") from None
    say = term.out.print
    mode = ("--reparent local: every process a child subreaper, so an orphan goes to its nearest living "
            "ancestor" if opts.local else "orphans go to the reaper (the container's init)")
    say(f"[bold]Puzzle · seed {opts.seed}[/bold] · {opts.actions} actions · {opts.forks}% forks · {escape(mode)}")
    if opts.chosen_seed:
        say(f"  (seed chosen at random; --seed {opts.seed} gives this puzzle again)")
    say("Actions:")
    for action in drawn:
        say(f"  {action}")
    if compute:
        for line in solution_lines(opts, drawn):
            say(escape(line))
        return 0
    if predict and guess is None:
        say(f"Predict: {QUESTION.lower()} Give NAME=PARENT for each process still running (an exited one")
        say("  is not; a=reaper may be left out: the reaper is the container's init, which started a).")
        guess = ask(names, input, lambda text: say(escape(text)))

    commands.reports_ready(settings)
    text = program(drawn, opts.seed, opts.forks, opts.local)
    model = linux(drawn, opts.local)
    simulated = simulate(drawn, opts.local)
    with tempfile.TemporaryDirectory(prefix="forklab-puzzle-") as folder:
        path = Path(folder) / "puzzle.py"
        path.write_text(text, encoding="utf-8")
        lab = catalog.load_script(path, commands.overrides(), 0)
        title = f"puzzle {opts.seed}{' --reparent local' if opts.local else ''} " \
                f"({describe(opts.seed, opts.actions, opts.forks, opts.local)})"
        spec = lab.spec.model_copy(update={
            "title": title, "key_checkpoint": CHECKPOINT,
            "summary": f"fork.py's puzzle {describe(opts.seed, opts.actions, opts.forks, opts.local)} played by "
                       "real processes (puzzle.py, beside this report); the checks are Linux's answer.",
            "expect": [*lab.spec.expect, *expectations(model)]})
        lab = dataclasses.replace(lab, spec=spec,
                                  report_as=report_name(opts.seed, opts.actions, opts.forks, opts.local))
        [outcome] = commands.execute(settings, [lab], term)
    document = outcome.document
    assert document is not None  # _execute always builds one, an error included
    real = real_tree(document, drawn)
    facts: dict = {"seed": opts.seed, "actions": [str(action) for action in drawn], "forks_percent": opts.forks,
             "reparent": "local" if opts.local else None, "fork_py": describe(opts.seed, opts.actions,
                                                                                 opts.forks, opts.local)[1:-1],
             "simulator": {"parent": simulated.living()},
             "model": {"parent": dict(model.parent), "state": dict(model.state)},
             "real": None if real is None else {"parent": dict(real.parent), "state": dict(real.state)},
             "real_matches_model": real is not None and same_tree(real, model),
             "differences": compare(simulated, real or model)}
    if guess is not None and real is not None:
        right = graded(guess, real.living())
        simulator_right = graded(simulated.living(), real.living())
        document["predictions"] = [{"ask": QUESTION, "predicted": answer_text(guess),
                                    "observed": answer_text({k: v for k, v in real.living().items() if k != ROOT}),
                                    "right": right}]
        facts["prediction"] = {"predicted": guess, "right": right, "simulator_right": simulator_right}
    document["puzzle"] = facts
    files = report.render(document, outcome.outputs)
    files["puzzle.py"] = text.encode("utf-8")
    files["puzzle.md"] = puzzle_markdown(opts, drawn, simulated, model, real, facts).encode("utf-8")
    outcome.files = files
    folder = commands.write_outcome(settings, outcome)

    if real is None:
        term.lab_summary(document, folder)
        return 1
    say(f"fork.py's final tree ({escape(facts['fork_py'])} -c -F):")
    for line in draw(simulated):
        say(f"  {escape(line)}")
    say(f"The real final tree (snapshot '{CHECKPOINT}'):")
    for line in draw_real(real):
        say(f"  {escape(line)}")
    for line in _difference_lines(facts["differences"]):
        say(escape(line))
    if not facts["real_matches_model"]:
        say("[red]The kernel did not do what the kit's Linux model says: see the checks in the report.[/red]")
    if "prediction" in facts:
        guessed = facts["prediction"]
        mark = "[green]✓[/green]" if guessed["right"] else "[red]✗[/red]"
        say(f"{mark} you said {escape(answer_text(guessed['predicted']))}; the run shows "
            f"{escape(document['predictions'][0]['observed'])}")
        sim = answer_text({k: v for k, v in simulated.living().items() if k != ROOT})
        verdict = "right" if guessed["simulator_right"] else "wrong"
        if guessed["simulator_right"] != guessed["right"]:
            say(f"  fork.py's answer ({escape(sim)}) would have been graded {verdict}.")
        else:
            say(f"  fork.py's answer ({escape(sim)}) would have been graded {verdict} too.")
    status = document["status"]
    colour = "green" if status == "passed" else "red"
    passed = sum(1 for check in document["checks"] if check["passed"])
    say(f"[{colour}]{status}[/{colour}] ({passed} of {len(document['checks'])} checks of Linux's answer)"
        f" · report: {escape(commands.shown_path(folder / 'puzzle.md'))}"
        f" · program: {escape(commands.shown_path(folder / 'puzzle.py'))}")
    return 0 if status == "passed" else 1


def puzzle_markdown(opts: Options, drawn: list[Action], simulated: Tree, model: Tree,
                    real: Optional[Tree], facts: dict) -> str:
    """reports/puzzle-S/puzzle.md: the actions, both answers, the real tree, the differences."""
    fence = "```"
    parts = [f"# Puzzle · seed {opts.seed}{' · --reparent local' if opts.local else ''}", "",
             f"fork.py's puzzle `{facts['fork_py']}`, played by real processes: [puzzle.py](puzzle.py) "
             f"(its full report: [report.md](report.md)).", "", "## Actions", "", fence,
             *[str(action) for action in drawn], fence, "",
             "## fork.py's final tree", "",
             "fork.py without -R gives every descendant of an exiting process to a; with -R its children go to "
             "its parent. An exited process leaves the tree at once.", "",
             fence, *draw(simulated), fence, "",
             f"## The real final tree (snapshot `{CHECKPOINT}`)", ""]
    if real is None:
        parts += ["The program never reached its checkpoint: see report.md.", ""]
    else:
        parts += ["Linux moves only the exiting process's own children: to its nearest living ancestor that "
                  "is a child subreaper, else to the container's init (the reaper). An exited process stays "
                  "a zombie until its parent reaps it; these processes never reap while the puzzle runs.", "",
                  fence, *draw_real(real), fence, "",
                  ("The kernel did exactly what the kit's Linux model says." if facts["real_matches_model"] else
                   "The kernel did NOT do what the kit's Linux model says: see the checks in report.md."), ""]
    parts += ["## Where fork.py and Linux differ", ""]
    parts += [f"- {sentence}." for sentence in facts["differences"]] or ["They agree on this one."]
    prediction = facts.get("prediction")
    if prediction:
        parts += ["", "## Your prediction", "",
                  f"You said `{answer_text(prediction['predicted'])}`: "
                  f"{'right' if prediction['right'] else 'wrong'}. fork.py's answer would have been "
                  f"{'right' if prediction['simulator_right'] else 'wrong'}."]
    return "\n".join(parts) + "\n"
