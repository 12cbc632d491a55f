"""The tiktoken preload: written with the install's rank folders, and (when node exists) answering offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.reference.shim import find_rank_dirs, write_shim

PROBE = """
fetch('https://tiktoken.pages.dev/js/test_enc.json')
  .then((r) => r.json())
  .then((j) => fetch('http://127.0.0.1:9/passes-through').then(() => j, (e) => ({ ...j, passed: String(e) })))
  .then((j) => { console.log(JSON.stringify(j)); })
"""


def _ranks(node_modules: Path, where: str = "js-tiktoken") -> Path:
    ranks = node_modules / where / "dist" / "ranks"
    ranks.mkdir(parents=True)
    (ranks / "test_enc.cjs").write_text('module.exports = {"pat_str": "x", "bpe_ranks": "! 0"};\n')
    return ranks


def test_rank_dirs_top_level_first_then_nested(tmp_path: Path) -> None:
    top = _ranks(tmp_path)
    nested = _ranks(tmp_path, "@langchain/core/node_modules/js-tiktoken")
    assert find_rank_dirs(tmp_path) == [top, nested]


def test_written_shim_names_the_rank_dirs(tmp_path: Path) -> None:
    ranks = _ranks(tmp_path)
    text = write_shim(tmp_path / "shim.js", tmp_path).read_text()
    assert json.dumps([str(ranks)]) in text
    assert "https://tiktoken.pages.dev/js/" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on PATH to run the preload with")
def test_the_preload_answers_tiktoken_urls_from_disk(tmp_path: Path) -> None:
    _ranks(tmp_path)
    shim = write_shim(tmp_path / "shim.js", tmp_path)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout
    if int(version.lstrip("v").split(".")[0]) < 18:
        pytest.skip(f"node {version.strip()} has no global fetch")
    done = subprocess.run(["node", "--require", str(shim), "-e", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer.pop("passed").startswith("TypeError: fetch failed"), "other URLs must reach the real fetch"
    assert answer == {"pat_str": "x", "bpe_ranks": "! 0"}
