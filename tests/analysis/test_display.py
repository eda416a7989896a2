"""Headline numbers keep their exact values and are shown rounded per unit."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchhub_sim.analysis.display import Summary, SummaryTable, format_value
from benchhub_sim.analysis.metrics import compare_runs, summary


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (61379.67374583779, ",.2f", "61,379.67"),
        (0.7558, ".1%", "75.6%"),
        (600, ",.0f", "600"),
        (-5.684e-14, "", "0"),  # float noise of b - a
        (-5.684e-14, ",.2f", "0.00"),
        (-0.001, ",.2f", "0.00"),  # rounds to zero: no minus sign
        (-0.5, ",.2f", "-0.50"),
        (12345.6, "", "12,346"),
        (8 / 3, "", "2.667"),
        (float("nan"), ",.2f", ""),
        (None, "", ""),
        ("easy", "", "easy"),
    ],
)
def test_format_value(value, fmt, text):
    assert format_value(value, fmt) == text


def test_summary_is_exact_and_shown_rounded(run):
    s = summary(run)
    assert isinstance(s, Summary) and isinstance(s, pd.Series)
    assert s["mean_wait_s"] == pytest.approx(8 / 3)  # not rounded
    text = repr(s)
    assert text.splitlines()[0] == "summary of fcfs"
    assert "2.67" in text and "2.6666" not in text
    assert "90.0%" in text  # utilization 0.9
    html = s._repr_html_()
    assert html.startswith("<table>") and ">2.67<" in html
    # derived objects are plain pandas
    assert type(s + 0) is pd.Series and type(s[["jobs"]]) is pd.Series


def test_unfinished_jobs_are_counted(run):
    run.jobs["status"] = run.jobs["status"].astype(object)
    run.jobs.loc[run.jobs["job_id"] == 2, ["status", "stop_time"]] = ["running", math.nan]
    s = summary(run)
    assert (s["finished"], s["aborted"], s["unfinished"]) == (1, 2, 1)


def test_compare_runs_is_shown_rounded(run, make_run):
    table = compare_runs([run, make_run()], names=["a", "b"])
    assert isinstance(table, SummaryTable)
    text = repr(table)
    assert "2.67" in text and "2.666" not in text and "90.0%" in text
    assert "<table" in table._repr_html_()
    assert type(table[["jobs"]]) is pd.DataFrame
