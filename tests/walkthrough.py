"""The README's walkthrough as a script: its shell blocks, as written, with every `# → expected` checked.

`tests/test_devstack.py` runs it against `make run`; by hand: `python -m tests.walkthrough --data-dir .data`
while `make run` is running. The only change made to the README's commands is the data directory in
`source .data/demo.env`, when the stack runs with another one.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Walkthrough: from the first distributor to the first payout"
EXPECTED = re.compile(r"^(?P<command>.*?)\s+# → (?P<expected>.+)$")


def blocks(readme: str) -> list[str]:
    """The ```sh blocks of the walkthrough section, in order."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def logical_lines(block: str) -> list[str]:
    """Lines with their backslash continuations joined (a shell function's body stays as written)."""
    out, pending = [], ""
    for line in block.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return out


def script(readme: str, data_dir: Path) -> str:
    """A bash script running the walkthrough, failing at the first command whose output differs."""
    lines = ["set -euo pipefail"]
    number = 0
    for block in blocks(readme):
        for line in logical_lines(block):
            line = line.replace("source .data/demo.env", f"source {shlex.quote(str(data_dir / 'demo.env'))}")
            match = EXPECTED.match(line)
            if match is None:
                lines.append(line)
                continue
            number += 1
            command, expected = match["command"], match["expected"].strip()
            lines.append(f"__got=$({command})")
            lines.append(f"__want={shlex.quote(expected)}")
            lines.append(
                f'if [ "$__got" != "$__want" ]; then echo "step {number}: expected $__want, got $__got" >&2; '
                f"echo {shlex.quote(command)} >&2; exit 1; fi"
            )
            lines.append(f'echo "ok {number}: $__want"')
    return "\n".join(lines) + "\n"


def run(data_dir: Path, *, workdir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    readme = (ROOT / "README.md").read_text()
    return subprocess.run(
        ["bash", "-c", script(readme, data_dir)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    args = parser.parse_args()
    result = run(args.data_dir.resolve(), workdir=Path.cwd())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
