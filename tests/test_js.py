"""Runs the browser tool's pure-module tests (``tests/js/*.test.mjs``) with ``node --test``."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO


def test_node_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the JavaScript unit tests need Node.js 20+")
    files = sorted(str(p) for p in (REPO / "tests" / "js").glob("*.test.mjs"))
    assert files, "no JavaScript tests found"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
