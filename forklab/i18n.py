"""The words forklab shows, in English and in Chinese.

The English text is the key: code and templates write ``_("expected {role} gone
at {checkpoint}; it was gone", role=..., checkpoint=...)`` and get that text
back in English, or the Chinese form from ``ZH`` in a Chinese report.  Values
go in through ``str.format`` placeholders, never f-strings, so the same key is
found whatever the values.  A text without a Chinese form is shown in English
(tests/test_i18n.py fails when one the kit uses has none).

The Chinese terms are those of labs/GLOSSARY.zh.md (僵尸进程, 孤儿进程, 回收,
收养, 子进程回收者, 写时复制, 竞态, 交错, 检查点, 快照, 角色, 变体, 运行器).
What a run produced stays as it was in every language: commands, output,
roles, checkpoint names, a lab's own title and summary.
"""

from __future__ import annotations

from typing import Mapping, Optional, Protocol, cast

from forklab.errors import UsageError

#: The languages forklab speaks; the first is the default.
LANGS = ("en", "zh")
DEFAULT = "en"


class Translate(Protocol):
    """``_(english, **values)``: the words in one language, the one ``lang`` names."""

    lang: str

    def __call__(self, english: str, **values: object) -> str: ...


def choose(option: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
           config: Optional[str] = None) -> str:
    """The language asked for: --lang, else FORKLAB_LANG, else Invoke's forklab.lang, else en.

    A value that is not a language forklab speaks is one line (exit 2), naming where it came from.
    """
    environ = {} if environ is None else environ
    for where, value in ((f"--lang {option}", option), (f"FORKLAB_LANG={environ.get('FORKLAB_LANG')}",
                                                        environ.get("FORKLAB_LANG")),
                         (f"forklab.lang {config} (invoke.yaml or INVOKE_FORKLAB_LANG)", config)):
        if value is None or str(value).strip() == "":
            continue
        lang = str(value).strip().lower()
        if lang not in LANGS:
            raise UsageError(f"{where}: give en or zh")
        return lang
    return DEFAULT


def text(lang: str, english: str, **values: object) -> str:
    """``english`` in ``lang`` (English when there is no translation), its placeholders filled in."""
    template = ZH.get(english, english) if lang == "zh" else english
    return template.format(**values) if values else template


def translator(lang: Optional[str]) -> Translate:
    """``_(english, **values)`` for one language; an unknown or missing one is English."""
    lang = lang if lang in LANGS else DEFAULT

    def _(english: str, **values: object) -> str:
        return text(lang, english, **values)

    _.lang = lang  # type: ignore[attr-defined]  # an attribute of the function itself, which Translate declares
    return cast(Translate, _)


def of(document: Optional[Mapping]) -> str:
    """The language a result document (result.json) was made in; English for one that does not say."""
    lang = ((document or {}).get("environment") or {}).get("lang")
    return lang if lang in LANGS else DEFAULT


#: Words that reach ``_`` as values rather than as literal text (a status, a
#: verdict, a row's note): tests/test_i18n.py checks these have Chinese forms too.
WORDS = ("passed", "failed", "error", "timeout", "not run", "not run yet", "invalid", "true", "false", "partly",
         "zombie", "adopted")

ZH: dict[str, str] = {
    # -- a status, a verdict, a row's note ------------------------------------------------
    "passed": "通过",
    "failed": "未通过",
    "error": "出错",
    "timeout": "超时",
    "not run": "未运行",
    "invalid": "无效",
    "true": "正确",
    "false": "错误",
    "partly": "部分正确",
    "zombie": "僵尸进程",
    "adopted": "被收养",
    "none": "无",

    # -- checks: what each kind says when lab.yaml gives no sentence (forklab/checks.py) ------
    "the lab makes {count} processes": "实验一共创建 {count} 个进程",
    "the program can print {count} different output(s)": "程序可能打印出 {count} 种不同的输出",
    "expected {count} possible output(s); the kit cannot count them: {reason}":
        "预期有 {count} 种可能的输出;本工具无法计数:{reason}",
    "expected {count} possible output(s); the graph allows {seen}, but not this run's own output":
        "预期有 {count} 种可能的输出;进程图允许 {seen} 种,却不包括这次运行本身的输出",
    "expected {count} possible output(s); the process graph allows {seen}":
        "预期有 {count} 种可能的输出;进程图允许 {seen} 种",
    "no process wrote to stdout": "没有进程向标准输出写入",

    # -- every possible output (forklab/orders.py, templates/_orders.md.j2) ------------------
    "Every possible output": "所有可能的输出",
    "Which outputs can this program print? Each process prints its own lines in its own order, a child "
    "starts at the fork() that made it, a parent's wait() returns after everything that child printed, and "
    "one write(2) arrives whole. The outputs these rules allow are the ways to walk the process graph:":
        "这个程序可能打印出哪些输出?每个进程按自己的顺序打印自己的行;子进程从创建它的 fork() 开始运行;"
        "父进程的 wait() 在那个子进程打印完所有内容之后才返回;一次 write(2) 整块到达。"
        "这些规则允许的输出,就是走遍进程图的各种走法:",
    "The kit does not count them for this run: {reason}.": "本工具不为这次运行计数:{reason}。",
    "Too many to list (more than {limit}).": "太多,不一一列出(多于 {limit} 种)。",
    "{count} different output(s) possible.": "可能有 {count} 种不同的输出。",
    "this run": "本次运行",
    "Orders kept only by sleep(), pipes, signals or locks are not in the graph, so it may count an order "
    "that cannot happen; it never leaves out one that can.":
        "只靠 sleep()、管道、信号或锁维持的顺序不在图中,所以图可能算进实际不会出现的顺序;"
        "但绝不会漏掉可能出现的顺序。",
    "This run printed output {number} of {count}.": "本次运行打印的是 {count} 种中的第 {number} 种。",
    "The process graph allows {count} different output(s); how often each was printed:":
        "进程图允许 {count} 种不同的输出;每种被打印的次数:",
    "Printed": "打印次数",
    "Who wrote each line of this run's output:": "这次运行输出的每一行是谁写的:",
    "Line": "行",
    "Written by": "写入者",
    "one of {names}": "{names} 之一",
    "({count} more lines)": "(还有 {count} 行)",
    "every possible output: not counted ({reason})": "所有可能的输出:未计数({reason})",
    "every possible output: {count}; this run printed number {number} (the report lists them)":
        "所有可能的输出:{count} 种;本次运行打印的是第 {number} 种(报告中一一列出)",
    "every possible output: {count}": "所有可能的输出:{count} 种",
    "never, in {runs} runs": "{runs} 次运行中从未出现",
    "The runs did not all have the same process graph ({count} different ones): the table is the first run's.":
        "各次运行的进程图并不都相同(共 {count} 种):上表来自第一次运行。",
    "{count} run(s) printed an output their own graph does not allow: something ordered the output that the "
    "kit does not follow.":
        "有 {count} 次运行打印出的输出不在其自身进程图允许的范围内:有本工具没有跟踪到的东西决定了输出的顺序。",
    "This run's output is not among them: something ordered the output that the kit does not follow.":
        "本次运行的输出不在其中:有本工具没有跟踪到的东西决定了输出的顺序。",
    "the container's memory at {checkpoint} is {range}": "检查点 {checkpoint} 时容器的内存{range}",
    "{role}'s rss memory at {checkpoint} is {range}": "检查点 {checkpoint} 时 {role} 的 RSS {range}",
    "{role}'s private memory at {checkpoint} is {range}": "检查点 {checkpoint} 时 {role} 的独占内存{range}",
    "{count} {stream} line(s) match /{match}/": "{stream} 中有 {count} 行匹配 /{match}/",
    "{role} is in state {state} at {checkpoint}": "检查点 {checkpoint} 时 {role} 处于状态 {state}",
    "{role}'s parent at {checkpoint} is {parent}": "检查点 {checkpoint} 时 {role} 的父进程是 {parent}",
    "{role} is gone at {checkpoint}": "检查点 {checkpoint} 时 {role} 已不在进程表中",
    "{role} exits with code {code}": "{role} 以退出码 {code} 结束",
    "{role} exits with {signal}": "{role} 被 {signal} 结束",
    "{role} is reaped by {by}": "{role} 由 {by} 回收",
    "no zombie is left at the end": "结束时没有留下僵尸进程",
    "docker stop ends the container with {signal}": "docker stop 以 {signal} 结束容器",
    "docker stop ends the container with {signal} after the whole grace period":
        "docker stop 等满整个宽限期后以 {signal} 结束容器",
    "docker stop ends the container with {signal} before the grace period is over":
        "docker stop 在宽限期结束之前以 {signal} 结束容器",
    "between {low:g} and {high:g} MiB": "在 {low:g} 到 {high:g} MiB 之间",
    "at least {low:g} MiB": "至少 {low:g} MiB",
    "at most {high:g} MiB": "至多 {high:g} MiB",
    "{role} is in {other}'s process group at {checkpoint}": "检查点 {checkpoint} 时 {role} 与 {other} 在同一个进程组",
    "{role} leads its own process group at {checkpoint}": "检查点 {checkpoint} 时 {role} 是自己进程组的组长",
    "{role} does not lead its process group at {checkpoint}": "检查点 {checkpoint} 时 {role} 不是所在进程组的组长",
    "{role} holds {what} open at {checkpoint}": "检查点 {checkpoint} 时 {role} 打开着{what}",
    "{role} does not hold {what} open at {checkpoint}": "检查点 {checkpoint} 时 {role} 没有打开{what}",
    "a pipe's read end": "管道的读端",
    "a pipe's write end": "管道的写端",
    "a pipe": "管道",
    "{what} as fd {fd}": "{what}(作为文件描述符 {fd})",
    "the read end of the pipe on {holder}'s fd {number}": "{holder} 的文件描述符 {number} 所连管道的读端",
    "the write end of the pipe on {holder}'s fd {number}": "{holder} 的文件描述符 {number} 所连管道的写端",
    "the pipe on {holder}'s fd {number}": "{holder} 的文件描述符 {number} 所连的管道",

    # -- checks: what was expected and what was seen ------------------------------------------
    "checkpoint {name!r} was never reached (reached: {reached})":
        "从未到达检查点 {name!r}(到达过的检查点:{reached})",
    "killed by {signal} (wait status {raw})": "被 {signal} 杀死(等待状态 {raw})",
    "exit code {code} (wait status {raw})": "退出码 {code}(等待状态 {raw})",
    "the pattern names {roles}, but no process had that role": "模式里写了 {roles},但没有进程是这个角色",
    "expected {count} {stream} line(s) matching /{match}/; saw {seen}":
        "预期 {stream} 中有 {count} 行匹配 /{match}/;实际有 {seen} 行",
    "expected {role} in state {state} at {checkpoint}; it was not in the process table":
        "预期检查点 {checkpoint} 时 {role} 处于状态 {state};它不在进程表中",
    "expected {role} in state {state} at {checkpoint}; saw {seen} ({command})":
        "预期检查点 {checkpoint} 时 {role} 处于状态 {state};实际是 {seen}({command})",
    "expected {role}'s parent at {checkpoint} to be {parent}; {role} was not there":
        "预期检查点 {checkpoint} 时 {role} 的父进程是 {parent};{role} 不在进程表中",
    "expected {role}'s parent at {checkpoint} to be {parent}; saw {seen}":
        "预期检查点 {checkpoint} 时 {role} 的父进程是 {parent};实际是 {seen}",
    "a process outside the lab": "实验之外的进程",
    "no process was ever named {role}, so its absence proves nothing":
        "从来没有进程叫 {role},所以它不在进程表中说明不了什么",
    "expected {role} gone at {checkpoint}; it was gone": "预期检查点 {checkpoint} 时 {role} 已不在进程表中;它确实不在",
    "expected {role} gone at {checkpoint}; it was there in state {state}":
        "预期检查点 {checkpoint} 时 {role} 已不在进程表中;它还在,状态 {state}",
    "code {code}": "退出码 {code}",
    "signal {signal}": "信号 {signal}",
    "expected {role} to exit with {want}; the runner did not see it exit "
    "(it sees the processes it reaps: main and adopted orphans)":
        "预期 {role} 以{want} 结束;运行器没有看到它退出(运行器只看得到它回收的进程:main 和被它收养的孤儿进程)",
    "expected {role} to exit with {want}; saw {seen}": "预期 {role} 以{want} 结束;实际是{seen}",
    "expected {role} to be reaped by {by}; the runner saw no reap of {role}":
        "预期 {role} 由 {by} 回收;运行器没有看到 {role} 被回收",
    "expected {role} to be reaped by {by}; reaped by {seen}": "预期 {role} 由 {by} 回收;实际由 {seen} 回收",
    "the run has no end snapshot": "这次运行没有 end 快照",
    "expected no zombies at the end; saw {count}: {roles}": "预期结束时没有僵尸进程;实际有 {count} 个:{roles}",
    "expected no zombies at the end; saw none": "预期结束时没有僵尸进程;实际一个也没有",
    "expected {count} processes (main and every fork); saw {seen}":
        "预期一共 {count} 个进程(main 和每次 fork() 创建的进程);实际有 {seen} 个",
    "expected the container's memory at {checkpoint} to be {range}": "预期检查点 {checkpoint} 时容器的内存{range}",
    "expected {role}'s rss memory at {checkpoint} to be {range}": "预期检查点 {checkpoint} 时 {role} 的 RSS {range}",
    "expected {role}'s private memory at {checkpoint} to be {range}":
        "预期检查点 {checkpoint} 时 {role} 的独占内存{range}",
    "expected {role}'s {measure} memory at {checkpoint}; {role} was not there":
        "预期读取检查点 {checkpoint} 时 {role} 的 {measure} 内存;{role} 不在进程表中",
    "{wanted}; it could not be read": "{wanted};无法读取",
    "{wanted}; saw {mib:.0f} MiB": "{wanted};实际 {mib:.0f} MiB",
    "expected docker stop to end the container with {signal}": "预期 docker stop 以 {signal} 结束容器",
    "expected docker stop to end the container with {signal} after waiting out its grace period":
        "预期 docker stop 等满宽限期后以 {signal} 结束容器",
    "expected docker stop to end the container with {signal} before its grace period was over":
        "预期 docker stop 在宽限期结束之前以 {signal} 结束容器",
    "{wanted}; the container was not stopped from outside (it ended by itself, or timed out)":
        "{wanted};容器没有被从外部停止(它自己结束了,或者超时了)",
    "killed by {signal}": "被 {signal} 杀死",
    "ended": "结束",
    "{wanted}; `docker stop -t {timeout}` took {seconds:.2f} s and the container was {ended} (exit {code})":
        "{wanted};`docker stop -t {timeout}` 用了 {seconds:.2f} 秒,容器{ended}(退出状态 {code})",
    "a group whose leader is not in the table": "组长不在进程表中的进程组",
    "the group {role} leads": "{role} 为组长的进程组",
    "expected {role} in {other}'s process group at {checkpoint}":
        "预期检查点 {checkpoint} 时 {role} 与 {other} 在同一个进程组",
    "{wanted}; {role} was not in the process table": "{wanted};{role} 不在进程表中",
    "{wanted}; {role} was in {group}, {other} in {other_group}":
        "{wanted};{role} 在{group}中,{other} 在{other_group}中",
    "expected {role} to lead its own process group at {checkpoint}":
        "预期检查点 {checkpoint} 时 {role} 是自己进程组的组长",
    "expected {role} not to lead its process group at {checkpoint}":
        "预期检查点 {checkpoint} 时 {role} 不是所在进程组的组长",
    "{wanted}; it was in {group}": "{wanted};它在{group}中",
    "expected {role} to hold {what} open at {checkpoint}": "预期检查点 {checkpoint} 时 {role} 打开着{what}",
    "expected {role} not to hold {what} open at {checkpoint}": "预期检查点 {checkpoint} 时 {role} 没有打开{what}",
    "{wanted}; its descriptors could not be read": "{wanted};无法读取它的文件描述符",
    "{wanted}; it had {count} more descriptors than a snapshot reads, so this cannot be told":
        "{wanted};它打开的文件描述符比快照能读取的多 {count} 个,所以无法判断",
    "{wanted}; it held {fds}": "{wanted};它打开着 {fds}",
    "{wanted}; {holder} held no pipe on fd {number} there": "{wanted};{holder} 那时的文件描述符 {number} 不是管道",
    "{wanted}; it held none: {fds}": "{wanted};它没有打开这样的文件描述符,打开的是:{fds}",

    # -- the terminal (forklab/console.py, forklab/commands.py) ----------------------------
    "Run · {title}": "运行 · {title}",
    "Lab {number:02d} · {title}": "实验 {number:02d} · {title}",
    "your predictions: {right} of {total} right": "你的预测:{total} 个中对了 {right} 个",
    "{question} you said {predicted}; the run shows {observed}": "{question} 你的回答:{predicted};运行结果:{observed}",
    "(nothing)": "(无)",
    "snapshot '{name}'": "快照 '{name}'",
    "role": "角色",
    "parent": "父进程",
    "state": "状态",
    "command": "命令",
    "... and {count} more processes: see the report": "……还有 {count} 个进程:见报告",
    "the pids limit was reached: {peak} processes at once (limit {limit}); fork() then fails with EAGAIN":
        "达到了进程数上限:同时有 {peak} 个进程(上限 {limit});此时 fork() 以 EAGAIN 失败",
    "{count} process(es) OOM-killed (memory limit {mib} MiB)": "{count} 个进程被 OOM 杀死(内存上限 {mib} MiB)",
    "{name} was cut: {count} bytes dropped": "{name} 被截断:丢弃了 {count} 字节",
    "the script was killed by {signal}": "脚本被 {signal} 杀死",
    "the lab's main process was killed by {signal}": "实验的主进程被 {signal} 杀死",
    "the script exited with code {code}": "脚本以退出码 {code} 退出",
    "the lab's main process exited with code {code}": "实验的主进程以退出码 {code} 退出",
    "last lines of {name}:": "{name} 的最后几行:",
    "the runner failed: {line}": "运行器出错:{line}",
    "report: {path}": "报告:{path}",
    "repeated {count} times": "重复运行了 {count} 次",
    "repeated {count} times, chaos seed {seed}": "重复运行了 {count} 次,扰动种子 {seed}",
    "{passed:>4} of {runs}": "{passed:>4} 次(共 {runs} 次)",
    "first line:": "第一行:",
    "{outputs} distinct output(s), {trees} distinct process tree(s)": "{outputs} 种不同的输出,{trees} 种不同的进程树",
    "lab": "实验",
    "title": "标题",
    "status": "状态",
    "checks passed": "通过的检查",
    "time": "用时",
    "{passed} of {total}": "{total} 项中 {passed} 项",
    "{passed} of {runs}": "{runs} 次中 {passed} 次",
    "{seconds:.1f} s": "{seconds:.1f} 秒",
    "{passed} of {total} labs passed in {seconds:.1f} s": "{total} 个实验中 {passed} 个通过,用时 {seconds:.1f} 秒",
    "tutorial verdicts": "教程说法的结论",
    "last report": "上次报告",
    "not run yet": "尚未运行",
    "lab.yaml is invalid": "lab.yaml 无效",
    "lab {number:02d}": "实验 {number:02d}",
    "run of {folder}": "运行 {folder}",
    "{what}: {status} ({seconds:.1f} s)": "{what}:{status}({seconds:.1f} 秒)",
    ": predict first.": ":先预测。",
    "index: {path}": "索引:{path}",
    "same": "一致",
    "drifted": "不一致",
    "lab {number:02d} {title}: {mark}": "实验 {number:02d} {title}:{mark}",

    # -- how a run was set up, its limits, how it was stopped (forklab/report.py) --------------
    "; ": ";",
    ", ": ",",
    ".": "。",
    ":": ":",
    "PID 1 is the lab's own python (python3 lab.py), as in `docker run IMAGE python3 lab.py`":
        "PID 1 是实验自己的 python(python3 lab.py),和 `docker run IMAGE python3 lab.py` 一样",
    "PID 1 is the engine's init, as in `docker run --init` (Docker's docker-init, which is tini; "
    "Podman's catatonit), and the lab's python (python3 lab.py) is its child":
        "PID 1 是容器引擎的 init,和 `docker run --init` 一样(Docker 的 docker-init,即 tini;"
        "Podman 的 catatonit),实验的 python(python3 lab.py)是它的子进程",
    "the runner stepped aside: {who}": "运行器让出了 PID 1:{who}",
    "the host watched from outside through the engine: a snapshot with `docker exec ps` and /proc "
    "at each checkpoint, forks as the lab's fork hook reported them on stderr":
        "主机通过容器引擎从外部观察:每个检查点用 `docker exec ps` 和 /proc 拍一次快照,"
        "fork 由实验的 fork 钩子在 stderr 上报告",
    "who reaped whom, and every exit status but main's, cannot be seen from outside":
        "谁回收了谁,以及除 main 之外每个进程的退出状态,从外部都看不到",
    "when the lab was over, main held at its exit and the host stopped the container "
    "with `docker stop -t {grace}`":
        "实验结束时,main 停在退出的那一刻,主机用 `docker stop -t {grace}` 停止容器",
    "stdout is a pipe": "标准输出是管道",
    "stdout is a terminal (pty)": "标准输出是终端(伪终端)",
    "stdout is the controlling terminal of main's session": "标准输出是 main 所在会话的控制终端",
    "when main exits, every other process is killed (as in a container)": "main 退出时,其余进程全部被杀死(和容器一样)",
    "the runner waits until every descendant has ended": "运行器一直等到所有后代进程都结束",
    "PID 1 never reaps adopted orphans": "PID 1 从不回收它收养的孤儿进程",
    "unlimited": "不限",
    "pids {pids}": "进程数 {pids}",
    "memory {memory}": "内存 {memory}",
    "time {seconds} s": "时间 {seconds} 秒",
    "writable {places}; the rest read-only": "可写 {places};其余只读",
    "writable {places}": "可写 {places}",
    "core files off (RLIMIT_CORE 0)": "不写核心转储(RLIMIT_CORE 0)",
    "core files up to {size}": "核心转储至多 {size}",
    "core files unlimited": "核心转储不限大小",
    "{command}: SIGTERM did not end it; stopped by SIGKILL after the {grace} s grace period (exit {code})":
        "{command}:SIGTERM 没能结束它;{grace} 秒宽限期过后被 SIGKILL 停止(退出状态 {code})",
    "{command}: stopped by SIGTERM, within the grace period (exit {code})":
        "{command}:在宽限期内被 SIGTERM 停止(退出状态 {code})",
    "{command}: the container ended with exit {code}": "{command}:容器以退出状态 {code} 结束",
    "exit {code}": "退出码 {code}",
    "(outside the lab)": "(实验之外)",
    "(its leader is not in the table)": "(组长不在进程表中)",
    "Process group": "进程组",
    "Open files": "打开的文件",
    " and {count} more": " 另有 {count} 个",

    # -- writing labs: invoke new, check-lab, schema (forklab/authoring.py) ----------------------
    "wrote {path}": "已写入 {path}",
    "wrote {path}: {files}": "已写入 {path}:{files}",
    "run it with `invoke lab {number}`; check it with `invoke check-lab {number}`":
        "运行:`invoke lab {number}`;检查:`invoke check-lab {number}`",
    "no Python program in the folder": "文件夹里没有 Python 程序",
    "not valid Python (line {line}): {error}": "不是有效的 Python(第 {line} 行):{error}",
    "cannot tell whether checkpoint {name!r} happens: {file} builds some checkpoint names at run time ({lines})":
        "无法判断检查点 {name!r} 是否会出现:{file} 有些检查点的名字是运行时才拼出来的({lines})",
    "no checkpoint({name!r}) in {file}, so this never happens (its checkpoints: {known}){close}":
        "{file} 中没有 checkpoint({name!r}),所以这个检查点永远不会出现(它的检查点:{known}){close}",
    "cannot tell whether a process is named {role}: {file} names some roles at run time ({lines})":
        "无法判断是否有进程叫 {role}:{file} 有些角色是运行时才起名的({lines})",
    "no process is named {role}: no checkpoint() in {file} gives that keyword (its roles: {named}; "
    "main, reaper and fork-tree names such as main.1 need none){close}":
        "没有进程叫 {role}:{file} 中没有哪个 checkpoint() 给出这个关键字参数(它的角色:{named};"
        "main、reaper 以及 main.1 这样按 fork 树起的名字不需要给出){close}",
    "; did you mean {name}?": ";是不是 {name}?",
    "{count} problem(s)": "{count} 个问题",
    "nothing wrong": "没有问题",
    "; {count} thing(s) it cannot tell without running": ";有 {count} 处不运行就无法判断",

    # -- report headings and fixed sentences (forklab/templates) -----------------------------
    "Status: {status}": "状态:{status}",
    "{passed} of {total} checks passed": "{total} 项检查中 {passed} 项通过",
    "{passed} of {total} checks passed in {variants} variants": "{variants} 个变体,{total} 项检查中 {passed} 项通过",
    "The claims it tests": "本实验检验的说法",
    "The tutorial's claims": "教程的说法",
    "The claim": "原文",
    "In English": "英文",
    "Verdict": "结论",
    "Why": "理由",
    "What this run shows": "本次运行显示",
    "Repeated {count} times": "重复运行 {count} 次",
    "Repeated {count} times, with chaos (seed {seed}: after each fork the parent or the child waits up to {max_ms} ms)":
        "重复运行 {count} 次,加入扰动(种子 {seed}:每次 fork 之后,父进程或子进程等待至多 {max_ms} 毫秒)",
    "Repeated {count} times, with chaos (seed {seed})": "重复运行 {count} 次,加入扰动(种子 {seed})",
    "Every run in a fresh process tree, all in one container.": "每次运行都是一棵新的进程树,全部在同一个容器中。",
    "Variant {name}": "变体 {name}",
    "Variant": "变体",
    "Variant {name}: {title}": "变体 {name}:{title}",
    "Check": "检查",
    "Checks": "检查",
    "Passed": "通过",
    "Which line came first:": "哪一行最先出现:",
    "; chaos delayed the parent {parent} and the child {child} time(s)":
        ";扰动让父进程等待了 {parent} 次,子进程 {child} 次",
    "Output seen in {count} of {total} runs:": "{total} 次运行中有 {count} 次是这样的输出:",
    "Variants side by side": "各变体并排对比",
    "What it is": "是什么",
    "How it ran": "怎样运行",
    "Status": "状态",
    "({passed} of {total} checks)": "({total} 项检查中 {passed} 项通过)",
    "Exits the runner saw": "运行器看到的退出",
    "How the container was stopped": "容器是怎样停止的",
    "Role": "角色",
    "Parent": "父进程",
    "State": "状态",
    "Command": "命令",
    "Private": "独占内存",
    "Key moment: {name}": "关键时刻:{name}",
    "Key moment:": "关键时刻:",
    "Process tree": "进程树",
    "Who forked whom (solid arrows), who adopted whom (dotted), who ended as a zombie and who reaped whom.":
        "谁 fork 出了谁(实线箭头),谁收养了谁(虚线),谁最后成了僵尸进程,谁回收了谁。",
    "zombie at a checkpoint": "检查点时是僵尸进程",
    "adopted (dashed: by whom)": "被收养(虚线指向收养者)",
    "Snapshots": "快照",
    "(asked by {role})": "(由 {role} 请求)",
    "Stopping the container": "停止容器",
    "Output": "输出",
    "(pids shown as `{pid:role}`)": "(PID 显示为 `{pid:角色}`)",
    ", lines sorted: their order is a race, different from run to run (see \"stdout as printed\" below)":
        ",各行已排序:它们的顺序是竞态,每次运行都不同(原样输出见下文\"stdout as printed\"一节)",
    "Timeline": "时间线",
    "running": "运行中",
    "dotted lines: checkpoints": "点线:检查点",
    "Memory in use by the whole container: {size}.": "整个容器占用的内存:{size}。",
    "Raw": "原始",
    "(cut; {count} more bytes dropped)": "(被截断;又丢弃了 {count} 字节)",
    "At most {peak} processes at once (limit {limit}).": "同时最多 {peak} 个进程(上限 {limit})。",
    "{count} process(es) OOM-killed.": "{count} 个进程被 OOM 杀死。",
    "Warning from the runner: {warning}": "运行器的警告:{warning}",
    "The runner reported": "运行器报告",
    "and the host killed the container when the time was up": ",时间用完时主机杀死了容器",
    "Your predictions": "你的预测",
    "{right} of {total} right.": "{total} 个中对了 {right} 个。",
    "Question": "问题",
    "You said": "你的回答",
    "The run shows": "运行结果",
    "{seconds} s": "{seconds} 秒",
    "Expected and seen": "预期与实际",
    "Checks in detail": "检查详情",
    "Where it ran": "运行环境",
    "Host": "主机",
    "Engine": "容器引擎",
    "Image": "镜像",
    "Container": "容器",
    "kernel": "内核",
    "Limits (read inside)": "限制(在容器内读取)",
    "{name} {version} at `{endpoint}`": "{name} {version},地址 `{endpoint}`",
    "{name} {version} ({os}/{arch}) at `{endpoint}`, found via {found_via}":
        "{name} {version}({os}/{arch}),地址 `{endpoint}`,通过 {found_via} 找到",
    "`{tag}` on `{base}`": "`{tag}`,基于 `{base}`",
    "Files:": "文件:",
    "Files": "文件",
    "Measured in this run": "本次运行的测量",
    "Everything above is the normalized report: roles instead of pids, no times or\nsizes, the same bytes in every run "
    "(`normalized.md`; `invoke verify` compares\nit). Everything below varies from run to run.":
        "以上是规范化报告:用角色代替 PID,没有时间和大小,每次运行逐字节相同\n"
        "(`normalized.md`;`invoke verify` 比较的就是它)。以下内容每次运行都不同。",
    "Warnings from the runner:": "运行器的警告:",
    "The runner reported `{status}`.": "运行器报告 `{status}`。",
    "The runner reported `{status}` and the host killed the container when the time was up.":
        "运行器报告 `{status}`,时间用完时主机杀死了容器。",
    "Container stderr:": "容器的 stderr:",
    "Limits in action": "限制的实际作用",
    "Limit (read inside the container)": "限制(在容器内读取)",
    "What happened": "发生了什么",
    "processes: {limit}": "进程数:{limit}",
    "at most {peak} at once": "同时最多 {peak} 个",
    ": **the limit was reached** (fork() then fails with BlockingIOError, EAGAIN)":
        ":**达到了上限**(此时 fork() 以 BlockingIOError、EAGAIN 失败)",
    "memory: {limit}": "内存:{limit}",
    "**{count} process(es) OOM-killed**: the kernel's out-of-memory killer ended them with SIGKILL":
        "**{count} 个进程被 OOM 杀死**:内核的内存耗尽处理程序(OOM killer)用 SIGKILL 结束了它们",
    "no process was OOM-killed": "没有进程被 OOM 杀死",
    "time: {seconds} s": "时间:{seconds} 秒",
    "**time was up**: every process was killed": "**时间用完**:所有进程都被杀死",
    "ended after {seconds} s": "{seconds} 秒后结束",
    "output: {size} MiB per stream": "输出:每个流 {size} MiB",
    "**cut**: {stdout} bytes of stdout and {stderr} of stderr were dropped":
        "**被截断**:丢弃了 stdout 的 {stdout} 字节和 stderr 的 {stderr} 字节",
    "nothing was cut": "没有截断",
    "The stop, measured: `docker stop -t {grace}` took **{seconds} s**, and the container's exit status was {code} "
    "(killed by {signal}).":
        "停止过程的测量:`docker stop -t {grace}` 用了 **{seconds} 秒**,容器的退出状态是 {code}(被 {signal} 杀死)。",
    "The stop, measured: `docker stop -t {grace}` took **{seconds} s**, and the container's exit status was {code}.":
        "停止过程的测量:`docker stop -t {grace}` 用了 **{seconds} 秒**,容器的退出状态是 {code}。",
    "Each process's life, in milliseconds from the start: running, then zombie until it was reaped.":
        "每个进程的一生,以从开始算起的毫秒计:先是运行,然后是僵尸进程,直到被回收。",
    "Memory and pids at each snapshot": "每个快照的内存与 PID",
    "Checkpoint": "检查点",
    "(the whole container)": "(整个容器)",
    "Raw `ps -eo pid,ppid,pgid,stat,comm,args` of each snapshot:":
        "每个快照的原始 `ps -eo pid,ppid,pgid,stat,comm,args` 输出:",
    "Events": "事件",
    "Event": "事件",
    "Process": "进程",
    "Detail": "详情",
    "forked by {role}": "由 {role} fork",
    "by {role}": "由 {role}",
    "killed by {signal}, wait status {raw}": "被 {signal} 杀死,等待状态 {raw}",
    "exit code {code}, wait status {raw}": "退出码 {code},等待状态 {raw}",
    "stdout as printed": "stdout 原样输出",
    "(cut after the cap; {count} more bytes were dropped)": "(超过上限后被截断;又丢弃了 {count} 字节)",
    "Container OS": "容器操作系统",
    "Python in the image": "镜像中的 Python",
    "(runner is a child subreaper)": "(运行器是子进程回收者)",
    "(the runner stepped aside; observed from outside)": "(运行器让出了 PID 1;从外部观察)",
    "User": "用户",
    "Sandbox": "沙箱",
    "network: {network}; root file system {root}; capabilities {capabilities}; no-new-privileges {nnp}":
        "网络:{network};根文件系统{root};capabilities {capabilities};no-new-privileges {nnp}",
    "read-only": "只读",
    "writable": "可写",
    "on": "开启",
    "off": "关闭",
    "The run": "这次运行",
    "`normalized.md` (the part above the line), `result.json` (everything, with raw pids and times), `stdout.log`, "
    "`stderr.log`, and one raw `ps` text per snapshot":
        "`normalized.md`(分隔线以上的部分)、`result.json`(全部内容,含原始 PID 和时间)、`stdout.log`、"
        "`stderr.log`,以及每个快照一份原始 `ps` 文本",
    "; each variant's files start with its name (`{name}.stdout.log`)":
        ";每个变体的文件以变体名开头(`{name}.stdout.log`)",

    # -- exercises: invoke check and invoke handout (forklab/exercises.py, console.py, commands.py) --
    "Check · exercise {number:02d} · {title} · {file}": "检查 · 练习 {number:02d} · {title} · {file}",
    "({points} points)": "({points} 分)",
    "hint: {hint}": "提示:{hint}",
    "hidden checks: {passed} of {total} passed": "隐藏检查:{total} 项中 {passed} 项通过",
    "(so no check counts)": "(所以所有检查都不计分)",
    "score: {earned} of {total} points": "得分:{total} 分中得 {earned} 分",
    "Score: {earned} of {total} points": "得分:{total} 分中得 {earned} 分",
    "hidden check": "隐藏检查",
    "check of exercise {number:02d}": "检查练习 {number:02d}",
    "it reached the pids limit ({limit} processes at once): fork only in the parent, a fixed number of times":
        "它达到了进程数上限(同时 {limit} 个进程):只在父进程里 fork,而且次数固定",
    "it was still running after {seconds:g} s: an endless loop, or a wait that never returns "
    "(a pipe's write end left open keeps its reader waiting)":
        "{seconds:g} 秒后它还在运行:死循环,或者一次永远不返回的等待(管道的写端没有关闭,读端就会一直等下去)",
    "it could not be run: {reason}": "它无法运行:{reason}",
    "{file} does not parse: {error}": "{file} 无法解析:{error}",
    " (line {line})": "(第 {line} 行)",
    "a process ran out of memory and was killed (the limit is {mib} MiB)": "有进程耗尽内存被杀死(上限 {mib} MiB)",
    "it was killed by {signal}": "它被 {signal} 杀死",
    "nothing on stderr": "stderr 上什么也没有",
    "it crashed (exit code {code}): {line}": "它崩溃了(退出码 {code}):{line}",
    "it printed more than the output limit; the rest was dropped": "它的输出超过了上限;多出的部分被丢弃",
    "{path}: made from the exercise's starter; it is yours: write your program there "
    "(later checks never overwrite it)":
        "{path}:已从练习的 starter 复制而来;它归你了:在里面写你的程序(之后的检查不会覆盖它)",
    "checking {path} (your working copy; give a PATH to check another file)":
        "检查 {path}(你的工作副本;给出 PATH 可以检查别的文件)",
    "handout: {path} ({labs} labs and {exercises} exercises; left out: {solutions} solutions, {hidden} hidden checks, "
    "{answers} checks that answer a prediction, {claims} claim verdicts of exercises)":
        "学生版:{path}({labs} 个实验,{exercises} 个练习;去掉了:{solutions} 个参考答案、{hidden} 项隐藏检查、"
        "{answers} 项会泄露预测答案的检查、{claims} 条练习的说法结论)",

    # -- grading a class: invoke grade (forklab/grade.py) -------------------------------------
    "graded": "已评分",
    "no credit": "不得分",
    "bad submission": "无效提交",
    "an empty folder": "空文件夹",
    "no .py file": "没有 .py 文件",
    "several .py files": "有多个 .py 文件",
    "a folder and a .py file of one name": "同名的文件夹和 .py 文件",
    "a symbolic link out of the folder": "指向文件夹外的符号链接",
    "not a regular file": "不是普通文件",
    "a file too big": "文件太大",
    "a binary file": "二进制文件",
    "a name that is not UTF-8": "名字不是 UTF-8",
    "a file that cannot be read": "无法读取的文件",
    "does not parse": "无法解析",
    "still running at the timeout": "超时后仍在运行",
    "reached the pids limit": "达到进程数上限",
    "could not be run": "无法运行",
    "crashed": "崩溃",
    "killed by a signal": "被信号杀死",
    "ran out of memory": "内存耗尽",
    "printed past the output limit": "输出超过上限",
    "the engine failed": "容器引擎出错",
    "the folder is empty": "文件夹是空的",
    "no .py file in the folder (it holds {names})": "文件夹里没有 .py 文件(里面有:{names})",
    "{count} .py files ({names}): keep one, or name the one to grade {expected}":
        "有 {count} 个 .py 文件({names}):只留一个,或者把要评分的那个命名为 {expected}",
    " or ": " 或 ",
    "{student} has both a folder and a .py file; keep one": "{student} 既有文件夹又有 .py 文件;只留一个",
    "{file} is a symbolic link out of the submissions folder": "{file} 是指向提交文件夹之外的符号链接",
    "{file} is a symbolic link out of the student's folder": "{file} 是指向学生文件夹之外的符号链接",
    "{file} is not a regular file": "{file} 不是普通文件",
    "{file} is {size}, more than a program may be ({limit})": "{file} 有 {size},超过了程序的大小上限({limit})",
    "{file} is more than a program may be ({limit})": "{file} 超过了程序的大小上限({limit})",
    "{file} is not a program's text (it holds NUL bytes)": "{file} 不是程序文本(含有 NUL 字节)",
    "{file} cannot be read ({error})": "无法读取 {file}({error})",
    "the name {name} is not UTF-8; rename it": "名字 {name} 不是 UTF-8;请改名",
    "the grader could not grade it ({error}); the next `invoke grade` tries again":
        "评分程序无法给它评分({error});下次运行 `invoke grade` 会重试",
    "hidden check {number}": "隐藏检查 {number}",
    "not run: {reason}": "未运行:{reason}",
    "it passed but does not count: {reason}": "这项检查通过了,但不计分:{reason}",
    "Grade · exercise {number:02d} · {student}": "评分 · 练习 {number:02d} · {student}",
    "Grades · exercise {number:02d} · {title}": "全班评分 · 练习 {number:02d} · {title}",
    "{students} students: {graded} graded, {none} earned nothing, {bad} bad submission(s), {errors} not graded":
        "{students} 名学生:{graded} 名已评分,{none} 名不得分,{bad} 份无效提交,{errors} 名未能评分",
    "mean {mean:.1f}, median {median:g} of {total} points; {full} with full marks":
        "满分 {total} 分,平均 {mean:.1f} 分,中位数 {median:g} 分;{full} 名满分",
    "Scores": "分数分布",
    "score": "分数",
    "students": "学生数",
    "Most-failed checks": "最常未通过的检查",
    "check": "检查",
    "points": "分值",
    "{failed} of {of}": "{of} 名中 {failed} 名",
    "(hidden)": "(隐藏)",
    "No check failed in a program that ran to its end.": "运行到结束的程序没有未通过的检查。",
    "Submissions that earned nothing or were not graded": "不得分或未能评分的提交",
    "problem": "问题",
    "student": "学生",
    "reason": "原因",
    "Every submission ran to its end.": "每份提交都运行到了结束。",
    "scores:": "分数分布:",
    "most-failed checks:": "最常未通过的检查:",
    "earned nothing or not graded:": "不得分或未能评分:",
    "gradebook: {gradebook} · summary: {summary}": "成绩表:{gradebook} · 汇总:{summary}",
    "ignored {name}: a student's submission is a folder or a .py file":
        "忽略 {name}:每名学生的提交应是一个文件夹或一个 .py 文件",
    "skipped {count} student(s) graded earlier from the same submission and exercise (--again grades them again)":
        "跳过 {count} 名之前已按同样的提交和练习评过分的学生(--again 会重新评分)",
    "{student}: bad submission: {reason}": "{student}:无效提交:{reason}",
    "{student}: {earned} of {total} points ({seconds:.1f} s)": "{student}:{total} 分中得 {earned} 分({seconds:.1f} 秒)",
    "{done} of {count} students are graded and kept in {path}; the same command grades the others":
        "{count} 名学生中已有 {done} 名评好分,保存在 {path};再运行同样的命令会给其余学生评分",

    # -- the index (reports/index.md, index.html) ----------------------------------------------
    "forklab reports": "forklab 报告",
    "Lab": "实验",
    "Title": "标题",
    "The tutorial's claims and verdicts": "教程的说法与结论",
    "({count} variants)": "({count} 个变体)",
    "Where the reports were made": "报告是在哪里生成的",
    "Labs {labs}: {host}, {engine}, image `{image}` on `{base}`; "
    "in the container {os}, kernel {kernel}, Python {python}.":
        "实验 {labs}:{host},{engine},镜像 `{image}`,基于 `{base}`;容器中是 {os},内核 {kernel},Python {python}。",
    "No lab has a report yet: run `invoke report`.": "还没有任何实验的报告:运行 `invoke report`。",
    # The index's totals, its other reports and its notes.
    "{passed} of {total} labs passed": "{total} 个实验中 {passed} 个通过",
    "{count} did not pass": "{count} 个未通过",
    "{count} not run": "{count} 个未运行",
    "{count} with an invalid lab.yaml": "{count} 个的 lab.yaml 无效",
    "of {total} labs passed": "个通过（共 {total} 个实验）",
    "did not pass": "未通过",
    "with an invalid lab.yaml": "lab.yaml 无效",
    "of {total} checks passed": "项检查通过（共 {total} 项）",
    "Reports made from {oldest} to {newest}.": "报告生成于 {oldest} 至 {newest}。",
    "Reports made {newest}.": "报告生成于 {newest}。",
    "Report": "报告",
    "Repeated runs (`invoke lab N --repeat`)": "重复运行（`invoke lab N --repeat`）",
    "Runs": "运行次数",
    "{passed} of {total} runs passed": "{total} 次运行中 {passed} 次通过",
    "chaos seed {seed}": "扰动种子 {seed}",
    "Scripts (`invoke run`)": "脚本（`invoke run`）",
    "Script": "脚本",
    "Puzzles (`invoke puzzle`)": "谜题（`invoke puzzle`）",
    "Puzzle": "谜题",
    "Exercise checks (`invoke check N`)": "练习检查（`invoke check N`）",
    "Exercise": "练习",
    "Score": "分数",
    "{earned} of {total} points": "{total} 分中得 {earned} 分",
    "Left out": "未列出的报告",
    "{path}: there is no such file; the report is left out": "{path}：没有这个文件，此报告未列出",
    "{path}: not valid JSON; the report is left out": "{path}：不是有效的 JSON，此报告未列出",
    "{path}: cannot be read ({detail}); the report is left out": "{path}：无法读取（{detail}），此报告未列出",
    "{path}: not a forklab result; the report is left out": "{path}：不是 forklab 的结果文件，此报告未列出",
    # The terminal: progress, counts and totals.
    "building the image: step {step} of {steps}: {what}": "正在构建镜像:第 {step} 步,共 {steps} 步:{what}",
    "built {tag} in {seconds:.0f} s": "已构建 {tag},用时 {seconds:.0f} 秒",
    "{right} of {total} predictions right": "{total} 个预测中 {right} 个正确",
    "reports: {path}": "报告:{path}",
    "{same} of {total} reports the same, {drifted} drifted": "{total} 份报告中 {same} 份一致,{drifted} 份有偏差",
    "labs": "实验",
    "{what}, {count} times each": "{what},每个运行 {count} 次",
    "give a whole number, e.g. 4": "请输入一个整数,例如 4",
    "give yes or no (y, n, 是, 否)": "请回答是或否(y、n、是、否)",
}
