"""The seed's README example, ported to Python 3, runs as written."""

import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "seed_example.py"


def test_the_seed_example_runs_as_written() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "Echo test!"
    assert "pyproject.toml" in done.stdout  # the server ran `dir` in the example's folder
    assert "Python 3." in done.stdout
    assert "['dir', ['python3', '-V']]" in lines
    # The server's time arrives as an aware datetime.
    assert lines[-1].startswith("20") and lines[-1].endswith("+00:00"), lines[-1]
