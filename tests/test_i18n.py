"""The Chinese interface (--lang zh), on a result document made here (no engine)."""

from __future__ import annotations

import io
import json
import re
import string

import pytest
from jinja2 import Environment
from jinja2.ext import extract_from_ast

from forklab import catalog, commands, i18n, index, report, result
from forklab.errors import UsageError
from forklab.settings import Settings
from tests.support import ENVIRONMENT, ROOT, _python_keys, lab_with, runner_document

CJK = re.compile(r"[\u4e00-\u9fff]")

EXPECT = (
    # A check that says it both ways, one that says it in English only (and fails), one that says nothing.
    '  - {check: state, checkpoint: zombie, role: child, state: Z, says: "the dead child is the zombie",\n'
    '     says_zh: "死掉的子进程是僵尸进程"}\n'
    '  - {check: state, checkpoint: zombie, role: parent, state: Z, says: "the parent is the zombie"}\n'
    "  - {check: no-zombies-at-end}\n")


def document(tmp_path, lang: str | None) -> dict:
    """A run checked as `invoke lab` checks it: the language rides in the environment (none: an older report)."""
    lab = lab_with(tmp_path, EXPECT)
    [variant] = lab.runs()
    environment = dict(ENVIRONMENT) if lang is None else {**ENVIRONMENT, "lang": lang}
    run = {"document": runner_document(), "timed_out": False, "container_exit": 0}
    return commands.checked(lab, variant, run, environment)


def files(tmp_path, lang: str | None) -> dict[str, str]:
    doc = document(tmp_path, lang)
    rendered = report.render(doc, [result.output_bytes({"document": runner_document()})])
    return {name: rendered[name].decode("utf-8") for name in ("normalized.md", "report.md", "report.html",
                                                                "result.json")}


# -- the report --------------------------------------------------------------------------

def test_a_chinese_report_has_chinese_headings_and_check_sentences(tmp_path):
    zh = files(tmp_path, "zh")
    text = zh["report.md"]
    assert text.startswith("# 实验 05 · Test\n")  # the lab's own title stays as lab.yaml has it
    assert "**状态:未通过** · 3 项检查中 2 项通过" in text
    assert "## 教程的说法" in text and "| 原文 | 英文 | 结论 | 理由 | 本次运行显示 |" in text
    assert "| 僵尸进程是父进程 | The zombie is the parent | **错误** |" in text
    assert "## 关键时刻:`zombie`" in text and "| 角色 | 父进程 | 状态 | 命令 |" in text
    assert "# 本次运行的测量" in text and "## 检查详情" in text and "## 运行环境" in text
    # says_zh where lab.yaml gives it; else the generated Chinese sentence, never the English says.
    assert "| ✓ | 死掉的子进程是僵尸进程 |" in text
    assert "| ✗ | 检查点 zombie 时 parent 处于状态 Z |" in text
    assert "| ✓ | 结束时没有留下僵尸进程 |" in text
    assert "预期检查点 zombie 时 parent 处于状态 Z;实际是 S(python3 lab.py)" in text
    assert "the parent is the zombie" not in text and "the dead child is the zombie" not in text
    # The data is the run's: commands, roles, checkpoint names unchanged.
    assert "| **child** | parent | **Z** (僵尸进程) | [python3] &lt;defunct&gt; |" in text
    assert "| **orphan** | reaper | **S** (被收养) | python3 lab.py |" in text
    # Every heading but the title and the snapshots' (a checkpoint's name) is Chinese.
    headings = [line for line in text.splitlines()[1:] if line.startswith("#") and not line.startswith("####")]
    assert headings and all(CJK.search(line) for line in headings), headings


def test_the_html_and_result_json_say_chinese(tmp_path):
    zh = files(tmp_path, "zh")
    html = zh["report.html"]
    assert '<html lang="zh-CN">' in html and "<title>实验 05 · Test · forklab</title>" in html
    assert "<h2>检查</h2>" in html and "<th>预期与实际</th>" in html and "<h2>运行环境</h2>" in html
    assert '<td class="verdict"><strong>错误</strong></td>' in html
    assert '<span class="status failed">未通过</span>' in html  # the class stays the status itself
    saved = json.loads(zh["result.json"])
    assert saved["environment"]["lang"] == "zh"
    assert saved["status"] == "failed"  # the status is data, the same in every language
    assert [c["name"] for c in saved["checks"]] == ["死掉的子进程是僵尸进程", "检查点 zombie 时 parent 处于状态 Z",
                                                     "结束时没有留下僵尸进程"]


def test_english_is_the_default_and_unchanged(tmp_path):
    en = files(tmp_path, "en")
    text = en["report.md"]
    assert "**Status: failed** · 2 of 3 checks passed" in text
    assert "| ✓ | the dead child is the zombie |" in text and "| ✗ | the parent is the zombie |" in text
    assert "| ✓ | no zombie is left at the end |" in text
    assert "expected parent in state Z at zombie; saw S (python3 lab.py)" in text
    assert "## Key moment: `zombie`" in text and "# Measured in this run" in text
    assert '<html lang="en">' in en["report.html"] and "<h2>Checks</h2>" in en["report.html"]
    assert json.loads(en["result.json"])["environment"]["lang"] == "en"
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert not [line for line in headings if CJK.search(line)]
    # A report that records no language (made before there was a choice) is English, byte for byte.
    old = files(tmp_path, None)
    assert old["normalized.md"] == en["normalized.md"] and old["report.md"] == en["report.md"]


def test_normalized_md_is_the_same_bytes_for_the_same_language(tmp_path):
    first, second = files(tmp_path, "zh"), files(tmp_path, "zh")
    assert first["normalized.md"] == second["normalized.md"]
    assert first["normalized.md"] != files(tmp_path, "en")["normalized.md"]


def test_the_terminal_summary_in_chinese(tmp_path):
    from rich.console import Console

    from forklab.console import Terminal

    seen = {}
    for lang in ("zh", "en"):
        term = Terminal(lang, verbose=True)
        term.out = Console(file=io.StringIO(), width=200, highlight=False, soft_wrap=True)
        term.lab_summary(document(tmp_path, lang), tmp_path)
        seen[lang] = term.out.file.getvalue()
    assert seen["zh"].startswith("实验 05 · Test\n")
    assert "✓ 死掉的子进程是僵尸进程" in seen["zh"] and "✗ 检查点 zombie 时 parent 处于状态 Z" in seen["zh"]
    assert "快照 'zombie'" in seen["zh"] and "Z (僵尸进程)" in seen["zh"] and "角色" in seen["zh"]
    assert "未通过 · 报告:" in seen["zh"]
    assert seen["en"].startswith("Lab 05 · Test\n") and "failed · report:" in seen["en"]
    assert not CJK.search(seen["en"])


def test_the_index_in_chinese(tmp_path):
    (tmp_path / "labs").mkdir()
    lab_with(tmp_path / "labs", EXPECT)
    for lang, heading, status in (("zh", "# forklab 报告", "**未运行**"), ("en", "# forklab reports", "**not run**")):
        settings = Settings.from_config({"labs_dir": str(tmp_path / "labs"), "reports_dir": str(tmp_path / lang)},
                                        tmp_path, lang)
        markdown = index.write(settings).read_text(encoding="utf-8")
        assert markdown.startswith(heading + "\n") and status in markdown
    zh = (tmp_path / "zh" / "index.md").read_text(encoding="utf-8")
    assert "僵尸进程是父进程 → **错误**" in zh  # a Chinese index quotes the tutorial's own sentence


def test_verify_compares_in_the_language_the_saved_report_was_made_in(tmp_path):
    for lang in ("zh", "en"):
        folder = tmp_path / lang
        folder.mkdir()
        (folder / "result.json").write_text(files(tmp_path, lang)["result.json"], encoding="utf-8")
        assert commands._saved_lang(folder) == lang
    old = tmp_path / "old"
    old.mkdir()
    (old / "result.json").write_text('{"environment": {}}', encoding="utf-8")
    assert commands._saved_lang(old) == "en" and commands._saved_lang(tmp_path / "none") == "en"


# -- every word the kit shows has its Chinese form ---------------------------------------------


def _template_keys(path) -> dict[str, str]:
    keys = {}
    for lineno, _, message in extract_from_ast(Environment().parse(path.read_text(encoding="utf-8")),
                                               gettext_functions=("_",)):
        first = message[0] if isinstance(message, tuple) else message
        if first is not None:  # _(c.verdict): a value; i18n.WORDS lists those
            keys[first] = f"{path.name}:{lineno}"
    return keys


def used_keys() -> dict[str, str]:
    package = ROOT / "forklab"
    keys = {}
    for name in ("checks.py", "console.py", "report.py", "commands.py", "authoring.py", "grade.py"):
        keys.update(_python_keys(package / name))
    keys.update(_python_keys(package / "exercises.py"))
    for template in sorted((package / "templates").glob("*.j2")):
        keys.update(_template_keys(template))
    return keys


def test_every_text_the_kit_translates_has_a_chinese_form():
    keys = used_keys()
    # The search finds the texts (an empty search would pass anything).
    assert {"Key moment: {name}", "expected {role} gone at {checkpoint}; it was gone", "report: {path}",
            "forklab reports"} <= set(keys)
    missing = sorted(f"{where}: {key!r}" for key, where in keys.items() if key not in i18n.ZH)
    missing += [f"i18n.WORDS: {word!r}" for word in i18n.WORDS if word not in i18n.ZH]
    assert not missing, "no Chinese form for:\n" + "\n".join(missing)


def _fields(text: str) -> set:
    return {name for _, name, spec, _ in string.Formatter().parse(text) if name is not None}


def test_each_chinese_form_is_chinese_and_takes_the_same_values():
    wrong = [f"{english!r}: {chinese!r}" for english, chinese in i18n.ZH.items()
             if _fields(chinese) != _fields(english)
             or not (CJK.search(chinese) or english in (".", ":", "; ", ", "))]
    assert not wrong, "\n".join(wrong)


def test_a_missing_translation_is_english():
    _ = i18n.translator("zh")
    assert _("no such text, {n} times", n=3) == "no such text, 3 times"
    assert _("Checks") == "检查" and i18n.translator("en")("Checks") == "Checks"


def test_every_check_a_lab_words_is_worded_in_chinese_too():
    unworded = []
    for number, path in sorted(catalog.find_labs(ROOT / "labs").items()):
        lab = catalog.load_lab(path)
        for expectation in [*lab.spec.expect, *(e for v in lab.spec.variants for e in v.expect)]:
            if expectation.says and not (expectation.says_zh and CJK.search(expectation.says_zh)):
                unworded.append(f"lab {number:02d}: {expectation.says}")
            if expectation.hint and not (expectation.hint_zh and CJK.search(expectation.hint_zh)):
                unworded.append(f"lab {number:02d}, a hint: {expectation.hint}")
    assert not unworded, "\n".join(unworded)


# -- choosing the language ---------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["lab", "3"], ["labs"], ["report"], ["verify"], ["list"], ["run", "tests/hostile/flood.py"],
])
def test_an_unknown_language_is_one_line_and_exit_2(cli, argv):
    code, out, err = cli(*argv, "--lang", "fr")
    assert code == 2
    assert err == "forklab: --lang fr: give en or zh\n"
    assert not cli.reports.exists(), "nothing is written for bad input"


def test_forklab_lang_is_read_and_checked(cli, monkeypatch):
    monkeypatch.setenv("FORKLAB_LANG", "fr")
    code, out, err = cli("list")
    assert (code, err) == (2, "forklab: FORKLAB_LANG=fr: give en or zh\n")
    monkeypatch.setenv("FORKLAB_LANG", "zh")
    code, out, err = cli("list")
    assert code == 0 and out.splitlines()[0].split() == ["实验", "标题", "教程说法的结论", "上次报告"]
    code, out, err = cli("list", "--lang", "en")  # the option wins over the environment
    assert code == 0 and out.splitlines()[0].split() == ["lab", "title", "tutorial", "verdicts", "last", "report"]


def test_the_invoke_config_key_and_its_order(monkeypatch):
    monkeypatch.delenv("FORKLAB_LANG", raising=False)
    assert Settings.from_config({}, ROOT).lang == "en"
    assert Settings.from_config({"lang": "zh"}, ROOT).lang == "zh"
    monkeypatch.setenv("FORKLAB_LANG", "en")
    assert Settings.from_config({"lang": "zh"}, ROOT).lang == "en"
    assert Settings.from_config({"lang": "en"}, ROOT, "zh").lang == "zh"
    monkeypatch.delenv("FORKLAB_LANG")
    with pytest.raises(UsageError, match=r"^forklab.lang fr \(invoke.yaml or INVOKE_FORKLAB_LANG\): give en or zh$"):
        Settings.from_config({"lang": "fr"}, ROOT)
