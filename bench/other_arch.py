"""Run labs on another architecture and compare their normalized reports with the native ones.

    python bench/other_arch.py --arch arm64 --labs 1,3,6

Makes the offline base for that architecture (`invoke base --arch`), builds the
lab image from the same Dockerfile for that platform, runs each lab on it (under
qemu's binfmt emulation when the engine's machine is another one: on Debian,
`apt-get install qemu-user-static binfmt-support`) and on the native image, and
says for each lab whether normalized.md is the same byte for byte.  Exit 0 when
every lab passed on both and matched, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forklab import catalog, commands, engine  # noqa: E402
from forklab.console import Terminal  # noqa: E402
from forklab.settings import ARCHITECTURES, Settings  # noqa: E402


def build_for(connected: engine.Engine, arch: str, say) -> tuple[str, str, str]:
    """(tag, id, base) of the lab image built from the same Dockerfile for linux/ARCH."""
    base = connected.build_base(None, say, arch=arch)
    files = engine.build_context_files()
    digest = engine.inputs_digest(files, base, connected.find_image(base).id)
    tag = f"{engine.IMAGE_REPOSITORY}:{arch}-{digest[:12]}"
    if connected.find_image(tag) is None:
        say(f"building {tag} for linux/{arch} on {base} ...")
        for chunk in connected.client.api.build(
                fileobj=io.BytesIO(catalog.pack(files)), custom_context=True, dockerfile="containers/Dockerfile",
                target="runtime", tag=tag, platform=f"linux/{arch}", buildargs={"BASE_IMAGE": base},
                labels={engine.LABEL: "true"}, rm=True, forcerm=True, pull=False, decode=True):
            if "error" in chunk:
                raise SystemExit(f"the {arch} image did not build: {chunk['error'].strip()}")
    image = connected.find_image(tag)
    return tag, image.id, base


def without_emulation(text: bytes) -> bytes:
    """normalized.md less what qemu-user itself leaves in the process table.

    Under binfmt emulation each process's command line starts with the
    interpreter (`/usr/libexec/qemu-binfmt/aarch64-binfmt-P /usr/bin/python3`), and
    qemu answers a process's reading of its own /proc/self/stat with state 0:
    the runner, which reads its own row, shows 0 where natively it shows R.
    """
    text = re.sub(rb"/usr/libexec/qemu-binfmt/\S+ \S+ ", b"", text)
    return re.sub(rb"^(\| reaper \| - \| )0( \|)", rb"\1R\2", text, flags=re.M)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=ARCHITECTURES)
    parser.add_argument("--labs", default="3", help="comma-separated lab numbers (default 3)")
    parser.add_argument("--reports", help="keep both sets of reports in this folder (default: a temporary one)")
    args = parser.parse_args()
    term = Terminal()
    connected = engine.Engine.connect()
    try:
        image = build_for(connected, args.arch, term.say)
        native = connected.arch()
    finally:
        connected.close()
    with tempfile.TemporaryDirectory(prefix="forklab-arch-") as tmp:
        tmp = args.reports or tmp
        reports = {name: Path(tmp) / name for name in (native, args.arch)}
        real_image = commands.lab_image
        failed = {}
        for name, folder in reports.items():
            settings = Settings.from_config({"reports_dir": str(folder)}, ROOT)
            if name == args.arch and name != native:
                commands.lab_image = lambda *_, **__: image  # noqa: E731 - the foreign image, for this pass only
            try:
                code = commands.run_labs(settings, args.labs.split(","), 1, term)
            finally:
                commands.lab_image = real_image
            failed[name] = code != 0
        same = not any(failed.values())
        for number in args.labs.split(","):
            name = f"lab-{int(number):02d}"
            for arch, folder in reports.items():
                result = json.loads((folder / name / "result.json").read_text(encoding="utf-8"))
                for check in result["checks"]:
                    if not check["passed"]:
                        print(f"{name} on {arch}: ✗ {check['name']}: {check['detail']}")
            texts = [(folder / name / "normalized.md").read_bytes() for folder in reports.values()]
            if texts[0] == texts[1]:
                verdict = "identical"
            elif without_emulation(texts[0]) == without_emulation(texts[1]):
                verdict = "identical but for qemu-user's traces (command prefix, the runner's own state)"
            else:
                verdict = "DIFFERENT"
                same = False
            print(f"{name}: normalized.md on {native} and on {args.arch}: {verdict}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
