from __future__ import annotations

import base64
import re
import shutil
import subprocess

import matplotlib
import pytest

matplotlib.use("Agg")

from benchhub_sim.analysis.report import write_report  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data_uris(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_html_report_is_self_contained(run, make_run, tmp_path):
    other = make_run()
    other.meta = dict(other.meta, policy="easy")
    path = write_report([run, other], tmp_path / "report.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    # no network: no URL of any scheme outside the data URIs, no external CSS/JS
    assert not re.search(r"https?://", text)
    assert "<script" not in text and "<link" not in text
    assert re.findall(r'src="([a-z]+):', text) == ["data"] * len(re.findall(r"<img", text))
    # figures: one wait CDF, then Gantt, utilization, queue, node states per run
    figures = _data_uris(text)
    assert len(figures) == 1 + 4 * 2
    assert all(f.startswith(PNG_MAGIC) for f in figures)
    # summary numbers of the tiny run: makespan 30, mean wait 8/3, p95 wait 7.2,
    # mean bounded slowdown 3.4/3, utilization 0.9
    summary = text[text.index("<h2>Summary</h2>") : text.index("</table>")]
    for cell in (
        '<td class="text">fcfs</td>',
        '<td class="text">easy</td>',
        ">30<",
        ">2.667<",
        ">7.2<",
        ">1.133<",
        ">0.9<",
    ):
        assert cell in summary
    # failures with their reasons, and the failed task
    assert "needs 3 nodes, cluster has 2" in text
    assert "stage run: task run failed on n0: exit code 1" in text
    assert "Failures: 2 aborted jobs, 1 failed tasks" in text
    assert "Node states over time" in text


def test_markdown_report_writes_pngs_beside_it(run, tmp_path):
    path = write_report(run, tmp_path / "out" / "r.md", format="md", names=["mine"])
    text = path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == [f"r_files/fig-{k:02d}.png" for k in range(1, 6)]
    for link in links:
        assert (path.parent / link).read_bytes().startswith(PNG_MAGIC)
    assert "| mine | 4 | 2 | 2 | 30 |" in text
    assert "http" not in text


def test_bad_format(run, tmp_path):
    with pytest.raises(ValueError):
        write_report(run, tmp_path / "x.pdf", format="pdf")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(run, tmp_path):
    """Open the report offline in headless Chromium and look at the screenshot's pixels."""
    import matplotlib.image as mpimg

    path = write_report(run, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    try:
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--hide-scrollbars",
                "--window-size=1000,1400",
                f"--screenshot={shot}",
                path.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"chromium could not run here: {exc}")
    img = mpimg.imread(shot)
    assert img.shape[0] == 1400 and img.shape[1] == 1000
    rgb = img[..., :3]
    # not a blank page: dark text and coloured figure pixels are there
    assert (rgb.mean(axis=2) < 0.3).mean() > 0.002
    assert (rgb.max(axis=2) - rgb.min(axis=2) > 0.3).mean() > 0.005


def test_report_of_an_empty_run(tmp_path):
    from types import SimpleNamespace

    from benchhub_sim.store.schema import TABLES

    empty = SimpleNamespace(meta={}, **{n: s.empty_table().to_pandas() for n, s in TABLES.items()})
    text = write_report(empty, tmp_path / "e.html").read_text()
    assert "Failures: 0 aborted jobs, 0 failed tasks" in text
    assert text.count("data:image/png;base64,") == 5
