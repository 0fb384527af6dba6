"""The self-contained examples of python/README.md run as written."""

import pathlib
import re
import subprocess
import sys

README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_isocket_example() -> None:
    assert run(BLOCKS[0]).splitlines() == ["Echo test!", "[]"]


def test_the_asyncio_example() -> None:
    block = next(block for block in BLOCKS if "asyncio.run(main())" in block)
    assert run(block).splitlines() == [str(list(range(64))), "one"]
