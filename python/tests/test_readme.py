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


def test_the_two_way_example() -> None:
    block = next(block for block in BLOCKS if "run_action_sync" in block)
    assert run(block).splitlines() == ["deleted"]


def test_the_tracked_and_input_examples_define_working_actions() -> None:
    events = next(block for block in BLOCKS if "tracked(i" in block)
    check = "\n".join([
        "import isock",
        "context = isock.Context(deadline=None, metadata={}, last_event_id=1)",
        "print([item.id for item in Events().action(4, context)])",
    ])
    assert run(events + check).splitlines() == ["[2, 3]"]
    set_point = next(block for block in BLOCKS if "class SetPoint" in block)
    check = "\n".join([
        "from isock.action import check_input",
        "print(check_input(SetPoint().input, {'valve': 'v', 'percent': 140}))",
        "print(check_input(SetPoint().input, {'valve': 'v', 'percent': 40}))",
    ])
    assert run(set_point + check).splitlines() == ["[{'message': 'a percent is from 0 to 100', 'path': ['percent']}]", "[]"]
