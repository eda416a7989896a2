from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from benchhub_sim.analysis.report import attempt_outcomes, write_report  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data_uris(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


@pytest.fixture
def no_figures(monkeypatch):
    """Reports whose figures are not drawn: for tests of their text only."""
    from benchhub_sim.analysis import report

    monkeypatch.setattr(report, "_figure", lambda draw, size=None: PNG_MAGIC)


def _table_after(text: str, heading: str) -> str:
    start = text.index(heading)
    return text[start : text.index("</table>", start)]


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
    # figures: wait CDF, waits by spec, queue length; then Gantt, utilization, node
    # states per run
    figures = _data_uris(text)
    assert len(figures) == 3 + 3 * 2
    assert all(f.startswith(PNG_MAGIC) for f in figures)
    # the summary, one column per run: makespan 30, mean wait 8/3, p95 wait 7.2, mean
    # bounded slowdown 3.4/3, utilization 0.9, in each unit's format
    summary = _table_after(text, "<h2>Summary</h2>")
    rows = dict(
        re.findall(r'<tr><td class="text">([^<]+)</td><td class="[a-z]+">([^<]*)</td>', summary)
    )
    assert rows["policy"] == "fcfs" and rows["nodes"] == "2" and rows["cluster"] == ""
    assert rows["makespan (s)"] == "30.00" and rows["mean wait (s)"] == "2.67"
    assert rows["p95 wait (s)"] == "7.20" and rows["mean bounded slowdown"] == "1.13"
    assert (
        rows["utilization"] == "90.0%" and rows["unfinished (queued or running at the end)"] == "0"
    )
    assert '<th class="text">fcfs</th><th class="text">easy</th>' in summary.replace(
        '<th class="num">', '<th class="text">'
    )
    # failures with their reasons, and the failed task
    assert "needs 3 nodes, cluster has 2" in text
    assert "stage run: task run failed on n0: exit code 1" in text
    assert (
        "Failures: 2 aborted jobs (1 never started), 1 failed task attempt (0 succeeded on retry)"
        in text
    )
    # a setup section per run
    setup = _table_after(text, "<h2>fcfs</h2>")
    assert '<td class="text">clock</td><td class="text">virtual; seed 1</td>' in setup
    # captions explain; none repeats its figure's title
    for alt, caption in re.findall(r'<img alt="([^"]*)"[^>]*><figcaption>([^<]*)<', text):
        assert caption and caption.lower() != alt.lower() and alt.lower() not in caption.lower()


def test_failed_attempts_that_succeeded_on_retry_are_told_apart(run, tmp_path, no_figures):
    # job 1's run stage on n0: attempt 0 failed, attempt 1 finished
    tasks = run.tasks
    first = tasks[(tasks["job_id"] == 1) & (tasks["stage_name"] == "run")].copy()
    first["status"] = first["status"].astype(object)
    retry = first.assign(attempt=1, status="finished")
    first = first.assign(status="failed", exit_code=3, reason="exit code 3", stop_time=5.0)
    run.tasks = pd.concat([tasks.astype({"status": object}), first, retry], ignore_index=True)
    outcomes = attempt_outcomes(run)
    assert list(zip(outcomes["job_id"], outcomes["outcome"], strict=True)) == [
        (1, "succeeded on retry"),
        (3, "job aborted"),
    ]
    text = write_report(run, tmp_path / "r.html").read_text()
    assert "2 failed task attempts (1 succeeded on retry)" in text
    assert ">succeeded on retry<" in text and ">job aborted<" in text


def test_stalled_and_incomplete_runs_are_flagged(run, tmp_path, no_figures):
    run.meta = dict(
        run.meta,
        stalled={"count": 3, "queued": 2, "running": 1, "job_ids": [7, 8, 9], "reason": "deadlock"},
        paths={"batch": 0, "one_step": 3, "general": 1},
        skipped={"no_run_time": 2},
    )
    run.complete = False
    text = write_report(run, tmp_path / "r.html", names=["mine"]).read_text()
    warn = re.findall(r'<p class="warn">([^<]*)</p>', text)
    stalled = "mine: stalled: 3 job(s) never ended (2 queued, 1 running; job ids 7, 8, 9): deadlock"
    assert stalled in warn and warn[0].startswith("mine: not a finished run: it did not finish")
    assert text.index(stalled) < text.index("<h2>Summary</h2>")  # said before anything else
    setup = _table_after(text, "<h2>mine</h2>")
    assert ">one_step 3, general 1<" in setup and ">no_run_time 2<" in setup


def test_markdown_report_writes_pngs_beside_it(run, tmp_path):
    path = write_report(run, tmp_path / "out" / "r.md", format="md", names=["mine"])
    text = path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == [f"r_files/fig-{k:02d}.png" for k in range(1, 7)]
    for link in links:
        assert (path.parent / link).read_bytes().startswith(PNG_MAGIC)
    assert "| makespan (s) | 30.00 |" in text
    assert "http" not in text


def test_bad_format(run, tmp_path):
    with pytest.raises(ValueError):
        write_report(run, tmp_path / "x.pdf", format="pdf")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


#: appended to a copy of the report (the report itself has no script): once the page has
#: settled, list every element that reaches past the window's right edge or scrolls
#: sideways, and whether each image decoded
_MEASURE = """<script>
window.addEventListener("load", () => {
  const width = window.innerWidth, bad = [];
  for (const el of document.body.querySelectorAll("*")) {
    const right = el.getBoundingClientRect().right;
    if (right > width + 0.5) bad.push(`${el.tagName}.${el.className} ends at ${right}`);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible")
      bad.push(`${el.tagName}.${el.className} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
  }
  const result = {width, page: document.documentElement.scrollWidth, bad,
                  images: [...document.images].map(i => i.complete && i.naturalWidth > 0)};
  const out = document.createElement("pre");
  out.id = "result";
  out.style.cssText = "white-space: pre-wrap; word-break: break-all";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_fits_1400_px_in_headless_chromium(run, make_run, tmp_path):
    """Open a report of two runs offline in headless Chromium, 1,400 px wide: every
    figure decodes and nothing reaches past the right edge or scrolls sideways (the
    report of before: its summary table, a column per number, scrolled)."""
    import json

    runs = [run, make_run()]
    for r, policy in zip(runs, ("fcfs", "conservative"), strict=True):
        r.meta = dict(r.meta, policy=policy, cluster="a-cluster-with-a-rather-long-name")
    text = write_report(runs, tmp_path / "report.html").read_text()
    page = tmp_path / "measured.html"
    page.write_text(text.replace("</body>", _MEASURE + "</body>"))
    try:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--hide-scrollbars",
                "--window-size=1400,900",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"chromium could not run here: {exc}")
    found = re.search(r'<pre id="result"[^>]*>(.*?)</pre>', done.stdout, re.S)
    assert found, "the measuring script did not run"
    result = json.loads(html.unescape(found.group(1)))
    assert result["width"] == 1400
    assert result["images"] == [True] * (3 + 3 * 2)
    assert result["bad"] == []
    assert result["page"] <= 1400


def test_report_of_an_empty_run(tmp_path):
    from types import SimpleNamespace

    from benchhub_sim.store.schema import TABLES

    empty = SimpleNamespace(meta={}, **{n: s.empty_table().to_pandas() for n, s in TABLES.items()})
    text = write_report(empty, tmp_path / "e.html").read_text()
    assert "Failures: 0 aborted jobs (0 never started), 0 failed task attempts" in text
    assert text.count("data:image/png;base64,") == 6
