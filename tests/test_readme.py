"""The README's Python session runs as written, at a load where jobs wait."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_python_session_runs_and_easy_waits_less(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## A first session in Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # it writes runs/easy
    scope: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        plt.close("all")
    fcfs, easy = scope["fcfs"], scope["easy"]
    bh = scope["bh"]
    waits = [bh.summary(r)["mean_wait_s"] for r in (fcfs, easy)]
    assert [round(w) for w in waits] == [38, 33]  # the numbers the README states
    assert (tmp_path / "runs" / "easy" / "run.json").is_file()
