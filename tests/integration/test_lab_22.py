"""Lab 22, copy-on-read, its facts read straight from result.json.

What a student checks by eye in the report: each child's private memory
before and after it used the parent's data (the report's memory table), and
the line each child printed, without the expectation engine, so a broken
check cannot hide a broken lab.
"""

from __future__ import annotations

import pytest

from tests.integration.support import rows_at

pytestmark = pytest.mark.docker

MIB = 1024


def private_mib(doc: dict, checkpoint: str, role: str) -> float:
    row = rows_at(doc, checkpoint)[role]
    assert row["pid"] == doc["roles"][role] and row["ppid"] == doc["roles"]["main"]
    return row["private_kb"] / MIB


def test_lab_22_each_child_says_whether_it_copied(lab_result):
    assert lab_result(22)["stdout"].splitlines() == [
        "1. 子进程读了1000000个int, 它们的和是500999500000: 复制了",
        "2. 子进程读了33554432个字节, crc32 = 310d8327: 没有复制",
        "3. 子进程只调用了gc.collect(): 复制了",
        "4. gc.freeze()之后, 这500000个列表都在永久代中: True",
        "4. 子进程调用了gc.collect(): 没有复制",
        "4. 子进程又读了这500000个列表: 复制了",
    ]
    assert lab_result(22)["stderr"] == ""


def test_lab_22_reading_ints_copies_them_and_reading_bytes_does_not(lab_result):
    doc = lab_result(22)
    # Right after fork() nothing is copied; the ints' 32 MiB are once the child has read them.
    assert private_mib(doc, "ints-before", "ints_reader") < 10
    assert private_mib(doc, "ints-after", "ints_reader") - private_mib(doc, "ints-before", "ints_reader") > 20
    # 32 MiB of bytes, every byte read: mapped (RSS), still shared.
    assert rows_at(doc, "bytes-after")["bytes_reader"]["rss_kb"] / MIB > 32
    assert private_mib(doc, "bytes-after", "bytes_reader") - private_mib(doc, "bytes-before", "bytes_reader") < 5


def test_lab_22_a_collection_copies_tracked_objects_unless_they_are_frozen(lab_result):
    doc = lab_result(22)
    assert private_mib(doc, "gc-after", "gc_child") - private_mib(doc, "gc-before", "gc_child") > 20
    frozen = [private_mib(doc, name, "frozen_child") for name in ("frozen-before", "frozen-collected", "frozen-read")]
    assert frozen[1] - frozen[0] < 5, "gc.collect() after gc.freeze() copied the lists"
    assert frozen[2] - frozen[1] > 20, "reading the frozen lists did not copy them"


def test_lab_22_the_parent_loses_its_sharing_too(lab_result):
    # A page the child copied is private in both: the parent did nothing and its Private grew.
    doc = lab_result(22)
    before = rows_at(doc, "ints-before")["main"]["private_kb"] / MIB
    after = rows_at(doc, "ints-after")["main"]["private_kb"] / MIB
    assert after - before > 20
