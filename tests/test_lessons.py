"""The lessons (labs/*/README.md and README.zh.md): their Chinese terms, and
sentences that were wrong once and must not come back.  No engine needed.

Each check is a small function of the text, tried first on a sample it must
reject, so a check that could never fail fails here instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT

LABS = ROOT / "labs"
GLOSSARY = LABS / "GLOSSARY.zh.md"
LAB_DIRS = sorted(path for path in LABS.iterdir() if path.is_dir() and re.match(r"\d\d-", path.name))
ZH = [folder / "README.zh.md" for folder in LAB_DIRS]
EN = [folder / "README.md" for folder in LAB_DIRS]

# The glossary every Chinese lesson links to: Chinese, then the English it translates.
TERMS = {
    "僵尸进程": "zombie",
    "孤儿进程": "orphan",
    "写时复制": "copy-on-write",
    "竞态": "race",
    "竞争条件": "race condition",
    "回收": "reap",
    "收养": "adopt",
    "子进程回收者": "subreaper",
    "交错": "interleaving",
}
# English words that Chinese prose must not use: the glossary has their Chinese.
ENGLISH_IN_CHINESE = re.compile(r"(?<![\w-])(zombies?|orphans?|reapers?|subreapers?|copy-on-write|races?)(?![\w-])",
                                re.IGNORECASE)
RETIRED_WORDS = ("抢时间", "撕裂")  # replaced by 竞态 and 交错


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def prose(text: str) -> str:
    """The text without fenced code blocks, code spans (which may run over a line
    end) and link targets: what a reader reads as sentences."""
    text = re.sub(r"^ *```.*?^ *```[^\n]*$", "", text, flags=re.S | re.M)
    text = re.sub(r"`[^`]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def flat(text: str) -> str:
    """Whitespace folded, so a sentence matches however its lines were wrapped: a line
    break between two Chinese characters is no space at all."""
    text = re.sub(r"(?<=[^\x00-\x7f])[ \t]*\n\s*(?=[^\x00-\x7f])", "", text)
    return re.sub(r"\s+", " ", text)


def english_terms(text: str) -> list[str]:
    return ENGLISH_IN_CHINESE.findall(prose(text))


def links_to_glossary(lesson: Path, text: str) -> bool:
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if (lesson.parent / target).resolve() == GLOSSARY.resolve():
            return True
    return False


def glossary_rows(text: str) -> dict[str, tuple[str, str]]:
    """Chinese term -> (English, definition), from the glossary's table rows.
    A cell such as 竞态(竞争条件) gives both names."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or set(cells[0]) <= set("-: ") or cells[0] == "中文":
            continue
        for name in re.split(r"[()()]", cells[0]):
            if name:
                rows[name] = (cells[1], cells[2])
    return rows


def test_the_checks_reject_what_they_are_for(tmp_path):
    assert english_terms("父进程还活着,子进程成了 zombie。") == ["zombie"]
    assert english_terms("这是一个竞态(race),也叫 Race。") == ["race", "Race"]
    assert english_terms("由 subreaper 收养;写时复制就是 copy-on-write。") == ["subreaper", "copy-on-write"]
    assert english_terms("角色 `reaper`,检查 `the dead child, not the parent, is the zombie`。") == []
    assert english_terms("```text\norphan · adopted by reaper\n```\n") == []
    assert english_terms("检查\n`the child is a\nzombie` 失败。") == [], "a code span may run over a line end"
    assert english_terms("`trace` 和 `orphan2` 和 `pid1-never-waits`,以及 subreapers。") == ["subreapers"]
    lesson = tmp_path / "labs" / "01-x" / "README.zh.md"
    lesson.parent.mkdir(parents=True)
    assert not links_to_glossary(lesson, "见[术语表](GLOSSARY.zh.md)。")
    assert not links_to_glossary(lesson, "见术语表 ../GLOSSARY.zh.md。")
    assert glossary_rows("| 中文 | English | 释义 |\n|---|---|---|\n| 竞态(竞争条件) | race | 谁先谁后。 |\n") \
        == {"竞态": ("race", "谁先谁后。"), "竞争条件": ("race", "谁先谁后。")}
    assert flat("the core size\n   limit is 0") == "the core size limit is 0"
    assert flat("在整台主机上\n  的所有进程") == "在整台主机上的所有进程"


def test_there_is_a_chinese_lesson_for_every_lab():
    assert LAB_DIRS, "no lab folders found"
    for lesson in ZH + EN:
        assert lesson.is_file(), f"{lesson.relative_to(ROOT)} is missing"


@pytest.mark.parametrize("lesson", ZH, ids=lambda path: path.parent.name)
def test_every_chinese_lesson_links_the_glossary(lesson):
    assert links_to_glossary(lesson, read(lesson)), \
        f"{lesson.relative_to(ROOT)} has no link to labs/GLOSSARY.zh.md"


@pytest.mark.parametrize("lesson", ZH, ids=lambda path: path.parent.name)
def test_chinese_prose_uses_the_chinese_terms(lesson):
    found = english_terms(read(lesson))
    assert not found, (f"{lesson.relative_to(ROOT)} uses {sorted(set(found))} in Chinese prose; "
                       f"write the glossary's Chinese term, or put code and identifiers in backticks")


@pytest.mark.parametrize("path", [GLOSSARY, *ZH, *EN], ids=lambda path: f"{path.parent.name}/{path.name}")
def test_retired_translations_appear_nowhere(path):
    text = read(path)
    for word in RETIRED_WORDS:
        assert word not in text, f"{path.relative_to(ROOT)} still says {word} (use 竞态 or 交错)"


def test_the_glossary_gives_each_term_its_english_and_a_definition():
    rows = glossary_rows(read(GLOSSARY))
    for chinese, english in TERMS.items():
        assert chinese in rows, f"the glossary has no row for {chinese}"
        row_english, definition = rows[chinese]
        assert english.lower() in row_english.lower(), f"{chinese}: its English should name {english!r}"
        assert len(definition) >= 10 and definition.endswith("。"), f"{chinese}: a one-line definition"


# -- Sentences that were wrong and must not come back --------------------------------

# (lab folder, lesson file, the wrong sentence as it stood, whitespace folded)
WRONG = [
    ("01-fork-returns", "README.md", "The only difference between them is the value"),
    ("01-fork-returns", "README.zh.md", "它们之间唯一的区别是"),
    ("01-fork-returns", "README.md", "No call lists a process's children"),
    ("01-fork-returns", "README.zh.md", "。没有哪个调用能列出一个进程的子进程"),
    ("01-fork-returns", "README.md", "In line 2 the child's number is still right"),
    ("01-fork-returns", "README.zh.md", "第 2 行中子进程的号码仍然是对的"),
    ("02-who-prints", "README.md", "An IDE's run window is one of these four cases"),
    ("02-who-prints", "README.zh.md", "IDE 的运行窗口属于这四种情形之一"),
    ("04-wait-and-status", "README.md", "In the kit's container the core size limit is 0"),
    ("04-wait-and-status", "README.zh.md", "在套件的容器中,core 文件大小的上限是 0"),
    ("04-wait-and-status", "README.md", "`os.WIFSIGNALED(status)` is true when bits 0 to 6 hold a signal, and"),
    ("06-fork-three-times", "README.md", "only 16 of 20 runs showed all 8"),
    ("06-fork-three-times", "README.zh.md", "20 次运行中只有 16 次"),
    ("07-buffering-and-fork", "README.md", "came out torn in 19 of 20 runs"),
    ("07-buffering-and-fork", "README.zh.md", "20 次运行中有 19 次"),
    ("08-pid1-and-reapers", "README.md", 'it says `orphan2` was "reaped by middle2"'),
    ("08-pid1-and-reapers", "README.zh.md", '它说 `orphan2` "reaped by middle2"'),
    ("08-pid1-and-reapers", "README.md", "fork-facts"),
    ("08-pid1-and-reapers", "README.zh.md", "fork-facts"),
    ("08-pid1-and-reapers", "lab.yaml", "adopted by PID 1 (role reaper)"),
    ("09-reaping-strategies", "README.md", "`one-1`, the oldest."),
    ("09-reaping-strategies", "README.zh.md", "最早创建的 `one-1`。"),
    ("11-threads-and-multiprocessing", "README.md", "inside the allocator, the logging module or a C library"),
    ("11-threads-and-multiprocessing", "README.zh.md", "内存分配器、logging 模块或某个"),
    ("12-limits-and-cost", "README.md", "of the real user id, here uid 1000, across the whole host"),
    ("12-limits-and-cost", "README.zh.md", "在整台主机上的所有进程"),
]

# (lab folder, what both lessons must say, in English and in Chinese)
REQUIRED = [
    ("01-fork-returns", ["/proc/PID/task/TID/children", "only one thread"],
     ["/proc/PID/task/TID/children", "只有一个线程"]),
    ("01-fork-returns", ["In line 1 the child's number"], ["第 1 行中子进程的号码"]),
    ("04-wait-and-status", ["0x7f", "0xffff", "os.WUNTRACED", "os.WCONTINUED"],
     ["0x7f", "0xffff", "os.WUNTRACED", "os.WCONTINUED"]),
    ("04-wait-and-status", ["sandbox sets the core size limit (`RLIMIT_CORE`", "core_pattern", "ignored"],
     ["沙箱把核心转储文件的大小上限(`RLIMIT_CORE`", "core_pattern", "被忽略"]),
    ("05-separate-memory", ["Private can never really be larger than its RSS", "smaps_rollup"],
     ["独占内存实际上不可能大于它的 RSS", "smaps_rollup"]),
    ("09-reaping-strategies", ["Linux's order", "POSIX does not say"], ["Linux 的做法", "POSIX 并没有规定"]),
    ("10-fork-then-exec", ["CLONE_VM | CLONE_VFORK", "no page tables to copy"],
     ["CLONE_VM | CLONE_VFORK", "没有页表要复制"]),
    ("11-threads-and-multiprocessing", ["register_at_fork", "malloc"], ["register_at_fork", "malloc"]),
    ("12-limits-and-cost", ["Since Linux 5.14", "user namespace"], ["从 Linux 5.14 起", "用户命名空间"]),
]


def test_the_wrong_sentences_are_recognised():
    old = "- Lines 1 and 2 come from the tutorial's snippet as printed. In line 2 the child's number is\n  still right"
    assert "In line 2 the child's number is still right" in flat(old)


@pytest.mark.parametrize("lab, name, sentence", WRONG, ids=lambda value: str(value)[:40])
def test_a_corrected_sentence_does_not_come_back(lab, name, sentence):
    text = flat(read(LABS / lab / name))
    assert flat(sentence) not in text, f"labs/{lab}/{name} says again: {sentence!r}"


@pytest.mark.parametrize("lab, english, chinese", REQUIRED, ids=lambda value: str(value)[:30])
def test_both_lessons_keep_the_correction(lab, english, chinese):
    for name, phrases in (("README.md", english), ("README.zh.md", chinese)):
        text = flat(read(LABS / lab / name))
        for phrase in phrases:
            assert flat(phrase) in text, f"labs/{lab}/{name} no longer says {phrase!r}"


# -- Figures measured on one machine say so -----------------------------------------

FIGURE = re.compile(r"\b\d+ of (?:the )?20 runs\b|\b\d+(?:\.\d+)? to \d+(?:\.\d+)? (?:s|ms)\b"
                    r"|\d+ 次中有 \d+ 次|\d+(?:\.\d+)? 到 \d+(?:\.\d+)? ?(?:秒|ms)")
ONE_MACHINE = ("one machine", "one 2-core", "one 2-CPU", "that one machine", "--repeat", "一台")


def unqualified_figures(text: str) -> list[str]:
    """Figures such as '16 of 20 runs' or '0.04 to 0.07 s' whose paragraph (or the one
    just before it, for a table) neither names one machine nor is a --repeat the
    reader runs."""
    blocks = re.split(r"\n\s*\n", text)
    found = []
    for number, block in enumerate(blocks):
        context = block + (blocks[number - 1] if number else "")
        for match in FIGURE.finditer(block):
            if not any(marker in flat(context) for marker in ONE_MACHINE):
                found.append(match.group(0))
    return found


def test_the_figure_check_rejects_a_bare_figure():
    assert unqualified_figures("Measured, only 16 of 20 runs showed all 8 lines.") == ["16 of 20 runs"]
    assert unqualified_figures("The stop took 0.04 to 0.07 s.") == ["0.04 to 0.07 s"]
    assert unqualified_figures("在那种情况下测量,20 次中有 16 次显示了全部 8 行。") == ["20 次中有 16 次"]
    assert unqualified_figures("On one 2-core Linux machine, 16 of 20 runs lost a line.") == []
    assert unqualified_figures("On one 2-CPU machine:\n\n| 0 MiB | 0.2 to 0.4 ms |") == []


@pytest.mark.parametrize("lesson", EN + ZH, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_figures_from_one_machine_say_so(lesson):
    found = unqualified_figures(read(lesson))
    assert not found, (f"{lesson.relative_to(ROOT)}: {found} must come from the reader's own run "
                       f"(a --repeat it tells them to run) or be stated as one machine's measurement")


# -- The verdicts are the lab's -------------------------------------------------------

def claims() -> dict[str, dict]:
    return {claim["id"]: claim for claim in yaml.safe_load(read(LABS / "claims.yaml"))}


ZH_VERDICT = {"true": "正确", "false": "错误", "partly": "部分正确"}


@pytest.mark.parametrize("folder", LAB_DIRS, ids=lambda path: path.name)
def test_each_lesson_quotes_its_claims_verbatim_with_the_labs_verdict(folder):
    known = claims()
    spec = yaml.safe_load(read(folder / "lab.yaml"))
    for entry in spec.get("claims", []):
        claim = known[entry["id"]] if "id" in entry else entry
        verdict = claim["verdict"]
        for name, label in (("README.md", f"**{verdict}**"),
                            ("README.zh.md", f"**{ZH_VERDICT[verdict]}**(`{verdict}`)")):
            rows = [line for line in read(folder / name).splitlines()
                    if line.startswith("|") and claim["zh"].strip() in line]
            assert rows, f"labs/{folder.name}/{name} does not quote {claim['zh']!r} in its table"
            assert any(label in row for row in rows), \
                f"labs/{folder.name}/{name}: {claim['zh'][:20]}... should be {label}"
