"""The Python blocks of docs/python.md ("From Python", linked from the root README) run as written (but for the port)."""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import time

from conftest import ROOT, _deno

SECTION = (ROOT / "docs" / "python.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", SECTION, re.S)
TYPESCRIPT = re.findall(r"```ts ignore\n(.*?)```", SECTION, re.S)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def on_port(code: str, port: int) -> str:
    assert "4440" in code
    return code.replace("4440", str(port))


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert process.poll() is None, "the server exited before listening"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {seconds} s")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_section_has_its_blocks() -> None:
    assert len(PYTHON) == 3 and len(TYPESCRIPT) == 1


def test_the_isocket_example_in_python_3() -> None:
    assert run_python(PYTHON[0]).splitlines() == ["Echo test!"]


def test_calling_a_typescript_server() -> None:
    port = free_port()
    server = subprocess.Popen(
        [_deno(), "run", "--allow-net", "--allow-run", "examples/server.ts", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        wait_for_port(port, server)
        lines = run_python(on_port(PYTHON[1], port)).splitlines()
    finally:
        stop(server)
    assert lines[0] == "from Python"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00", lines[1]), lines[1]
    assert lines[2].startswith("UNKNOWN_ACTION "), lines[2]


def test_serving_typescript_clients() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", on_port(PYTHON[2], port)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, server)
        client = ROOT / "python" / ".readme_client.ts"
        client.write_text(on_port(TYPESCRIPT[0], port))
        try:
            done = subprocess.run(
                [_deno(), "run", "--allow-net", str(client)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=90,
                env={**os.environ, "NO_COLOR": "1"},
            )
        finally:
            client.unlink()
    finally:
        stop(server)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["line 1", "line 2", "line 3"]
