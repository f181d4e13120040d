"""The happens-before graph of a fork program: every output it could print.

Each case builds the record a real run of a textbook program would give
(every print flushed, so one write per line, unless the case says otherwise)
and checks the graph against an answer worked out by hand in the comment.
Process names: main's first child is main.1, its second main.2; main.1's
first child is main.1.1.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from forklab.graph import Graph, Process, lines_of


def proc(name, parent, *events):
    return {"name": name, "parent": parent, "events": list(events)}


def out(*lines):
    return tuple(lines)


# -- 1. fork(); fork(); print("hello") ------------------------------------------------

def test_two_forks_one_hello_each_is_one_output():
    # Four processes print the same line; whatever the order, the output is
    # four lines of hello: 1 distinct output.
    graph = Graph([
        proc("main", None, ("fork", "main.1"), ("fork", "main.2"), ("write", "hello\n")),
        proc("main.1", "main", ("fork", "main.1.1"), ("write", "hello\n")),
        proc("main.2", "main", ("write", "hello\n")),
        proc("main.1.1", "main.1", ("write", "hello\n")),
    ])
    assert graph.problems == []
    assert graph.total_lines == 4
    assert graph.count() == 1
    assert graph.outputs() == [out("hello", "hello", "hello", "hello")]
    assert graph.reason is None


# -- 2. CS:APP's parent and child ------------------------------------------------------

def test_parent_and_child_each_print_one_line():
    # x = 1; if fork() == 0: print("c") else: print("p").  Nothing orders the
    # two writes: p c or c p, 2 outputs (listed sorted).
    graph = Graph([proc("main", None, ("fork", "main.1"), ("write", "p\n")),
                   proc("main.1", "main", ("write", "c\n"))])
    assert graph.count() == 2
    assert graph.outputs() == [out("c", "p"), out("p", "c")]


def test_print_fork_print_fork_print_with_a_label_per_process():
    # print("a"); fork(); print("b"); fork(); print("c"), each process adding its name.
    #   main:     a, fork main.1, b:main, fork main.2, c:main
    #   main.1:   b:main.1, fork main.1.1, c:main.1
    #   main.2:   c:main.2          main.1.1: c:main.1.1
    # Every line differs, so count the orders of the 7 writes.  a is first.  Then
    # two independent groups: main's {b:main < c:main, b:main < c:main.2} has 2
    # orders (b first, then the two c's either way), main.1's group also 2, and
    # the two sequences of 3 interleave in C(6, 3) = 20 ways: 20 * 2 * 2 = 80.
    graph = Graph([
        proc("main", None, ("write", "a\n"), ("fork", "main.1"), ("write", "b:main\n"), ("fork", "main.2"),
             ("write", "c:main\n")),
        proc("main.1", "main", ("write", "b:main.1\n"), ("fork", "main.1.1"), ("write", "c:main.1\n")),
        proc("main.2", "main", ("write", "c:main.2\n")),
        proc("main.1.1", "main.1", ("write", "c:main.1.1\n")),
    ])
    assert graph.count() == 80
    assert graph.outputs() is None  # more than 50
    assert len(graph.outputs(limit=80)) == 80
    assert len(set(graph.outputs(limit=80))) == 80
    assert graph.possible(["a", "b:main.1", "c:main.1.1", "b:main", "c:main.2", "c:main.1", "c:main"])
    assert not graph.possible(["a", "c:main.1.1", "b:main.1", "b:main", "c:main.2", "c:main.1", "c:main"])


# -- 3. fork() && fork() || fork() -----------------------------------------------------

def and_or_fork(label):
    # (os.fork() and os.fork()) or os.fork(); print(...):
    #   main: first fork gives a pid, so the second runs (main.2); a pid again: done.
    #   main.1 gets 0 from the first: `and` is 0, so `or` forks main.1.1; a pid: done.
    #   main.2 gets 0 from the second: `or` forks main.2.1.
    #   main.1.1 and main.2.1 get 0 from the third fork and are done.  5 processes.
    return Graph([
        proc("main", None, ("fork", "main.1"), ("fork", "main.2"), ("write", label("main"))),
        proc("main.1", "main", ("fork", "main.1.1"), ("write", label("main.1"))),
        proc("main.2", "main", ("fork", "main.2.1"), ("write", label("main.2"))),
        proc("main.1.1", "main.1", ("write", label("main.1.1"))),
        proc("main.2.1", "main.2", ("write", label("main.2.1"))),
    ])


def test_and_or_fork_all_printing_the_same_line():
    # Five times the same line: 1 output.
    graph = and_or_fork(lambda name: "x\n")
    assert len(graph.processes) == 5
    assert graph.count() == 1
    assert graph.outputs() == [out(*["x"] * 5)]


def test_and_or_fork_each_printing_its_own_line():
    # Each write is the last event of its process and comes after that
    # process's forks only; no write comes before another one, so the five
    # writes are unordered: 5! = 120 outputs.
    graph = and_or_fork(lambda name: f"x from {name}\n")
    assert graph.count() == 120


# -- 4. for i in range(2): fork(); print(i) ------------------------------------------

def loop_graph():
    #   main:     fork main.1, 0, fork main.2, 1
    #   main.1:   0, fork main.1.1, 1           (it goes on with i = 1)
    #   main.2:   1                             main.1.1: 1
    return Graph([
        proc("main", None, ("fork", "main.1"), ("write", "0\n"), ("fork", "main.2"), ("write", "1\n")),
        proc("main.1", "main", ("write", "0\n"), ("fork", "main.1.1"), ("write", "1\n")),
        proc("main.2", "main", ("write", "1\n")),
        proc("main.1.1", "main.1", ("write", "1\n")),
    ])


def test_a_loop_of_two_forks():
    # Two 0s and four 1s.  Each 1 comes after one of the 0s: main's and main.2's
    # after main's 0, main.1's and main.1.1's after main.1's 0.  So the output
    # starts with a 0, and before the second 0 at most the two 1s that the
    # first 0 let through: 0 0 1111, 0 1 0 111, 0 11 0 11 -- 3 outputs.
    graph = loop_graph()
    assert graph.count() == 3
    assert graph.outputs() == [out("0", "0", "1", "1", "1", "1"), out("0", "1", "0", "1", "1", "1"),
                               out("0", "1", "1", "0", "1", "1")]
    assert not graph.possible("0\n1\n1\n1\n0\n1\n")
    assert "program order" in graph.why_not("0\n1\n1\n1\n0\n1\n")
    assert graph.why_not("1\n0\n0\n1\n1\n1\n").startswith("line 1 `1` cannot come here")


# -- 5. wait() -------------------------------------------------------------------------

def wait_graph():
    # if fork() == 0: print("child"); exit     else: wait(); print("parent done")
    return Graph([proc("main", None, ("fork", "main.1"), ("reap", "main.1"), ("write", "parent done\n")),
                  proc("main.1", "main", ("write", "child\n"))])


def test_wait_orders_the_child_before_the_parent():
    # "parent done" comes after the wait, which comes after the child's exit,
    # which comes after "child": 1 output.
    graph = wait_graph()
    assert graph.count() == 1
    assert graph.outputs() == [out("child", "parent done")]


def test_parent_prints_before_and_after_its_wait():
    # main: fork, A, wait, C;  main.1: B.  B is unordered with A only; C is
    # after both (A by program order, B by the wait): A B C and B A C, 2 outputs.
    graph = Graph([proc("main", None, ("fork", "main.1"), ("write", "A\n"), ("reap", "main.1"), ("write", "C\n")),
                   proc("main.1", "main", ("write", "B\n"))])
    assert graph.count() == 2
    assert graph.outputs() == [out("A", "B", "C"), out("B", "A", "C")]
    assert "wait" in graph.why_not(["A", "C", "B"])
    assert "program order" in graph.why_not(["C", "A", "B"])


# -- 6. one write of several lines -------------------------------------------------------

def test_one_write_of_three_lines_stays_together():
    # Block buffering: main's three lines come out in one write(2), which is
    # atomic, so main.1's line goes before or after all three: 2 outputs, not
    # the 4 that three separate writes would give.
    together = Graph([proc("main", None, ("fork", "main.1"), ("write", "1\n2\n3\n")),
                      proc("main.1", "main", ("write", "x\n"))])
    assert together.count() == 2
    assert together.outputs() == [out("1", "2", "3", "x"), out("x", "1", "2", "3")]
    assert not together.possible(["1", "x", "2", "3"])
    assert "atomic" in together.why_not(["1", "x", "2", "3"])
    assert "atomic" in together.why_not(["2", "1", "3", "x"])
    apart = Graph([proc("main", None, ("fork", "main.1"), ("write", "1\n"), ("write", "2\n"), ("write", "3\n")),
                   proc("main.1", "main", ("write", "x\n"))])
    assert apart.count() == 4


def test_the_same_lines_from_one_write_and_from_two():
    # main writes "a\nb\n" at once (block M); main.1 writes "a\n", then "b\n"
    # (a1 before b1).  The three orders of the nodes: M a1 b1 = a b a b,
    # a1 M b1 = a a b b, a1 b1 M = a b a b: 3 orders, 2 distinct outputs.
    graph = Graph([proc("main", None, ("fork", "main.1"), ("write", "a\nb\n")),
                   proc("main.1", "main", ("write", "a\n"), ("write", "b\n"))])
    assert graph.count() == 2
    assert graph.outputs() == [out("a", "a", "b", "b"), out("a", "b", "a", "b")]


# -- 7. possible and why_not --------------------------------------------------------------

def test_every_listed_output_is_possible_and_others_are_not():
    for graph in (wait_graph(), loop_graph(), and_or_fork(lambda name: f"{name}\n")):
        listed = graph.outputs(limit=200)
        assert listed and len(listed) == graph.count()
        assert all(graph.possible(list(lines)) for lines in listed)
        assert all(graph.why_not(list(lines)) is None for lines in listed)
    graph = wait_graph()
    assert graph.possible("child\nparent done\n") is True
    assert graph.possible(["parent done", "child"]) is False
    reason = graph.why_not(["parent done", "child"])
    assert reason.startswith("line 1 `parent done` cannot come here")
    assert "wait()" in reason and "main.1" in reason and "`child`" in reason


def test_why_not_names_the_fork_and_counts_lines():
    # print("L0"); if fork() == 0: print("L1"); print("Bye"): L1 cannot come
    # before L0, because main.1 is forked after L0.
    graph = Graph([proc("main", None, ("write", "L0\n"), ("fork", "main.1"), ("write", "Bye\n")),
                   proc("main.1", "main", ("write", "L1\n"), ("write", "Bye\n"))])
    # L0, then main's Bye and main.1's L1 < Bye: orders of 3 with L1 < Bye1:
    # Bye L1 Bye, L1 Bye Bye (twice): 2 outputs.
    assert graph.count() == 2
    reason = graph.why_not(["L1", "L0", "Bye", "Bye"])
    assert "main.1 does not exist yet" in reason and "(fork)" in reason and "`L0`" in reason
    # After L0 Bye, the next Bye is main.1's, which comes after its L1.
    assert graph.why_not(["L0", "Bye", "Bye", "Bye"]) == (
        "line 3 `Bye` cannot come here: main.1 prints it after `L1`, which has not come yet (program order).")
    assert "printed 1 time in all, and that one came earlier" in wait_graph().why_not(["child", "child"])
    assert "no process prints it" in graph.why_not(["L0", "hello", "Bye", "Bye"])
    assert "one too many" in graph.why_not(["L0", "L1", "Bye", "Bye", "Bye"])
    assert "stops after 2 lines" in graph.why_not(["L0", "L1"])
    assert graph.possible(["L0", "L1"]) is False


# -- 8. problems ----------------------------------------------------------------------------

def test_a_partial_line_is_a_problem():
    graph = Graph([proc("main", None, ("fork", "main.1"), ("write", "abc")),
                   proc("main.1", "main", ("write", "x\n"))])
    assert graph.count() is None
    assert graph.outputs() is None
    assert graph.possible(["abc", "x"]) is None
    assert len(graph.problems) == 1
    assert "without a newline" in graph.problems[0] and "main" in graph.problems[0]
    assert "newline" in graph.reason
    assert graph.why_not(["x"]).startswith("the record cannot be used")


def test_unknown_names_missing_processes_and_big_writes_are_problems():
    unknown_reap = Graph([proc("main", None, ("fork", "main.1"), ("reap", "main.7")),
                          proc("main.1", "main", ("write", "x\n"))])
    assert unknown_reap.count() is None
    assert any("reaps `main.7`" in problem and "not in the record" in problem for problem in unknown_reap.problems)
    missing = Graph([proc("main", None, ("fork", "main.1"), ("fork", "main.2"), ("write", "x\n")),
                     proc("main.1", "main", ("write", "x\n"))])
    assert any("forks `main.2`" in problem for problem in missing.problems)
    not_a_child = Graph([proc("main", None, ("fork", "main.1"), ("write", "x\n")),
                         proc("main.1", "main", ("reap", "main"))])
    assert any("whose parent is" in problem for problem in not_a_child.problems)
    never_forked = Graph([proc("main", None, ("write", "x\n")), proc("main.1", "main", ("write", "y\n"))])
    assert any("never forked" in problem for problem in never_forked.problems)
    early_reap = Graph([proc("main", None, ("reap", "main.1"), ("fork", "main.1")), proc("main.1", "main")])
    assert any("before forking it" in problem for problem in early_reap.problems)
    # 1400 Chinese characters are 4200 bytes of UTF-8: more than PIPE_BUF, not atomic.
    big = Graph([proc("main", None, ("write", "中" * 1399 + "\n"))])
    assert any("4198 bytes" in problem and "not atomic" in problem for problem in big.problems)
    assert Graph([proc("main", None, ("write", "é" * 2047 + "\n"))]).problems == []  # 4095 bytes


# -- 9. distinct outputs, not orders of nodes ----------------------------------------------

def test_three_processes_printing_the_same_text_is_one_output():
    # 3! = 6 orders of the writes, all printing "same" three times: 1 output.
    graph = Graph([proc("main", None, ("fork", "main.1"), ("fork", "main.2"), ("write", "same\n")),
                   proc("main.1", "main", ("write", "same\n")),
                   proc("main.2", "main", ("write", "same\n"))])
    assert graph.count() == 1


def test_sixteen_processes_of_four_forks_print_one_output():
    # fork() four times, then print("hello"): 16 processes, one output.
    processes = []

    def forked(name, parent, left):
        events = []
        processes.append({"name": name, "parent": parent, "events": events})
        for index in range(left):
            child = f"{name}.{index + 1}"
            events.append(("fork", child))
            forked(child, name, left - index - 1)
        events.append(("write", "hello\n"))

    forked("main", None, 4)
    assert len(processes) == 16
    assert Graph(processes).count() == 1
    # Processes that have the same left to print are merged, so 2^6 processes
    # take no longer than 16 (without merging, 2^64 sets of printed lines).
    processes.clear()
    forked("main", None, 6)
    assert len(processes) == 64
    graph = Graph(processes)
    assert graph.count() == 1
    assert graph.possible(["hello"] * 64) and not graph.possible(["hello"] * 63)


def test_hello_then_bye_from_eight_siblings_is_a_catalan_number():
    # main forks 7 children, then all 8 print "hello", then "bye".  An output is
    # 8 hellos and 8 byes in which no prefix has more byes than hellos (each
    # bye follows its own process's hello), and every such sequence can
    # happen: the ballot sequences, Catalan(8) = C(16, 8) / 9 = 12870 / 9 = 1430.
    graph = Graph([proc("main", None, *[("fork", f"main.{i}") for i in range(1, 8)],
                        ("write", "hello\n"), ("write", "bye\n"))]
                  + [proc(f"main.{i}", "main", ("write", "hello\n"), ("write", "bye\n")) for i in range(1, 8)])
    assert graph.count() == 1430
    assert graph.possible(["hello", "bye"] * 8)
    assert not graph.possible(["hello", "bye", "bye"] + ["hello"] * 7 + ["bye"] * 6)


def test_merging_keeps_apart_processes_that_differ_in_what_waits_for_them():
    # main forks main.1 and main.2, each printing "x" then "y"; main waits for
    # main.1 only, then prints "z".  After one "x" the two states (main.1's x
    # printed, or main.2's) are not interchangeable: z waits for main.1 alone.
    # By hand: main.1 x1 < y1 < z; main.2 x2 < y2; lines x x y y z in some
    # order with each y after an x.  Orders of the 5 nodes: z is after y1, and
    # main.2's pair goes anywhere.  Distinct outputs over {x, y, z}:
    #   z last:  x x y y z, x y x y z                      (2)
    #   z 4th:   main.2 has y2 left after z: x x y z y, x y x z y  (2)
    #   z 3rd:   x y z x y (main.2 not started printing)   (1)
    # 5 outputs.
    graph = Graph([proc("main", None, ("fork", "main.1"), ("fork", "main.2"), ("reap", "main.1"),
                        ("write", "z\n")),
                   proc("main.1", "main", ("write", "x\n"), ("write", "y\n")),
                   proc("main.2", "main", ("write", "x\n"), ("write", "y\n"))])
    assert graph.count() == 5
    assert graph.outputs() == [out("x", "x", "y", "y", "z"), out("x", "x", "y", "z", "y"),
                               out("x", "y", "x", "y", "z"), out("x", "y", "x", "z", "y"),
                               out("x", "y", "z", "x", "y")]


# -- 10. the budget ------------------------------------------------------------------------

def test_too_many_to_count_gives_up():
    # main forks 11 children; each of the 12 prints 4 lines of its own: 48!/(4!)^12
    # outputs, and 5^12 states.  The count gives up instead of taking hours.
    processes = [proc("main", None, *[("fork", f"main.{i}") for i in range(1, 12)],
                      *[("write", f"main line {k}\n") for k in range(4)])]
    processes += [proc(f"main.{i}", "main", *[("write", f"main.{i} line {k}\n") for k in range(4)])
                  for i in range(1, 12)]
    graph = Graph(processes)
    assert graph.count() is None
    assert "too many to count" in graph.reason
    assert graph.outputs() is None
    small = Graph(processes, max_states=1000)
    assert small.count() is None and "too many to count" in small.reason
    # Following one output is cheap even so.
    assert graph.possible([f"main line {k}" for k in range(4)]
                          + [f"main.{i} line {k}" for i in range(1, 12) for k in range(4)]) is True


# -- the input -----------------------------------------------------------------------------

def test_processes_and_events_in_either_shape():
    graph = Graph([Process.of({"name": "main", "parent": None, "events": [["fork", "main.1"], ["write", "a\n"]]}),
                   {"name": "main.1", "parent": "main", "events": [("write", "b\n")]}])
    assert graph.count() == 2
    assert lines_of("a\nb\n") == ("a", "b")
    assert lines_of("\n") == ("",)
    assert lines_of("") == ()


def test_an_empty_write_prints_nothing():
    graph = Graph([proc("main", None, ("write", ""), ("fork", "main.1"), ("write", "a\n")),
                   proc("main.1", "main", ("write", "b\n"))])
    assert graph.problems == []
    assert graph.count() == 2


def test_a_program_that_prints_nothing_has_one_empty_output():
    graph = Graph([proc("main", None, ("fork", "main.1"), ("reap", "main.1")), proc("main.1", "main")])
    assert graph.count() == 1
    assert graph.outputs() == [()]
    assert graph.possible([]) is True


# -- the drawings ----------------------------------------------------------------------------

HOSTILE = 'a <b> & "c" \x1b[31m'


def drawn_graph():
    return Graph([proc("main", None, ("fork", "main.1"), ("write", "A\n"), ("reap", "main.1"), ("write", "C\n")),
                  proc("main.1", "main", ("write", HOSTILE + "\n"), ("write", "B1\nB2\n"))])


def test_mermaid_shows_every_process_and_line():
    text = drawn_graph().mermaid()
    assert text.startswith("flowchart LR\n")
    for name in ("main", "main.1"):
        assert f'["{name}"]' in text
    for line in ("A", "C", "B1", "B2"):
        assert line in text
    assert "-->|fork|" in text and "-.->|wait|" in text
    # The hostile text, made harmless: no quote, tag, entity or escape character.
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert "<b>" not in text and "&" not in text and '"c"' not in text
    assert text.count("((\"start\"))") == 2 and text.count("((\"exit\"))") == 2


def test_svg_is_well_formed_and_shows_every_process_and_line():
    svg = drawn_graph().svg()
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root[0].tag == "{http://www.w3.org/2000/svg}title"
    words = "".join(root.itertext())
    for name in ("main", "main.1"):
        assert name in words
    for line in ("A", "C", "B1", "B2"):
        assert line in words
    assert "\x1b" not in svg and "\\x1b[31m" in words
    assert "&lt;b&gt;" in svg and "&amp;" in svg and "<b>" not in svg
    assert HOSTILE.replace("\x1b", "\\x1b") in words and "\\n" not in words  # whole in its tooltip, no escaped newline
    assert 'class="wait"' in svg and 'class="fork"' in svg
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width:.0f} {height:.0f}"


def test_svg_puts_every_edge_rightward():
    graph = loop_graph()
    depth = graph._depths()
    for _kind, a, b in graph._edges():
        assert depth[a] < depth[b]
    ET.fromstring(graph.svg())


def test_text_rendering():
    text = drawn_graph().text()
    lines = text.split("\n")
    assert lines[0].startswith("main ") and "fork main.1" in lines[0] and "→ wait main.1 →" in lines[0]
    assert lines[1].startswith("main.1  (forked by main)") and '"B1 ⏎ B2"' in lines[1]
    assert "\x1b" not in text


def test_drawings_of_a_record_with_problems_still_draw():
    graph = Graph([proc("main", None, ("fork", "main.1"), ("reap", "main.9"), ("write", "x")),
                   proc("main.1", "main", ("write", "y\n"))])
    assert graph.problems
    ET.fromstring(graph.svg())
    assert "main.1" in graph.mermaid()


# -- against brute force -----------------------------------------------------------------------

def every_output(processes):
    """Every output of a record, by trying every order of every event (forks and waits too),
    with none of the graph's shortcuts: no silent steps taken early, no states merged."""
    by_name = {one["name"]: one for one in processes}
    found = set()

    def ready(name, done):
        one = by_name[name]
        if done[name] >= len(one["events"]):
            return False
        if one["parent"] is not None:
            parent = by_name[one["parent"]]
            forked_at = parent["events"].index(("fork", name))
            if done[one["parent"]] <= forked_at:
                return False
        kind, value = one["events"][done[name]]
        return kind != "reap" or done[value] == len(by_name[value]["events"])

    def walk(done, printed):
        moved = False
        for name in by_name:
            if ready(name, done):
                moved = True
                kind, value = by_name[name]["events"][done[name]]
                walk({**done, name: done[name] + 1}, printed + (lines_of(value) if kind == "write" else ()))
        if not moved:
            found.add(printed)

    walk({name: 0 for name in by_name}, ())
    return found


def random_record(seed):
    import random

    rng = random.Random(seed)
    processes = [proc("main", None)]
    for index in range(1, rng.randint(2, 4)):
        parent = rng.choice(processes)
        processes.append(proc(f"p{index}", parent["name"]))
    for one in processes:
        children = [other["name"] for other in processes if other["parent"] == one["name"]]
        events = [("write", "".join(rng.choice("ab") + "\n" for _ in range(rng.randint(1, 2))))
                  for _ in range(rng.randint(0, 2))]
        for child in children:
            at = rng.randint(0, len(events))
            events.insert(at, ("fork", child))
            if rng.random() < 0.5:
                events.insert(rng.randint(at + 1, len(events)), ("reap", child))
        one["events"] = events
    return processes


def test_counts_and_outputs_agree_with_trying_every_order():
    for seed in range(150):
        processes = random_record(seed)
        expected = every_output(processes)
        graph = Graph(processes)
        assert graph.problems == [], seed
        assert graph.count() == len(expected), seed
        assert graph.outputs(limit=10_000) == sorted(expected), seed
        for lines in expected:
            assert graph.possible(list(lines)), seed
