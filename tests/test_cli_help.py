"""The command explains itself: every subcommand's help, and what the issue named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchhub_sim.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_command_is_listed():
    names = list(_subparsers())
    assert names == list(COMMANDS)
    assert "examples" in names


@pytest.mark.parametrize("name", list(_subparsers()))
def test_help_has_a_description_an_example_and_every_default(name):
    parser = _subparsers()[name]
    text = parser.format_help()
    # a paragraph of its own (more than the one-line summary), and examples to copy
    assert parser.description and len(parser.description.split()) >= 25, name
    examples = text[text.index("examples:\n") :].splitlines()[1:]
    assert any(line.startswith(f"  benchhub-sim {name}") for line in examples), name
    assert all(len(line) <= 100 for line in examples), name
    # every option with a value says its default (flags are off unless given; one of a
    # required group of alternatives is given)
    alternatives = {
        a for g in parser._mutually_exclusive_groups if g.required for a in g._group_actions
    }
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.required:
            continue
        if action in alternatives:
            continue
        rendered = parser._get_formatter()._get_help_string(action) or ""
        assert "default" in rendered, f"{name} {action.option_strings[0]}: no default in help"


def test_top_level_help_says_where_to_start(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "benchhub-sim demo" in out and "benchhub-sim examples --copy" in out
    assert "exit status: 0 ok; 1" in out


def test_simulate_help_documents_the_jobs_file(capsys):
    from benchhub_sim.workload.jobsfile import JOBS_FILE_FORMAT

    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    for line in JOBS_FILE_FORMAT.splitlines():
        assert line in out
    # and the README shows the same format
    readme = (REPO / "README.md").read_text()
    for line in JOBS_FILE_FORMAT.splitlines():
        assert line in readme


def test_the_example_jobs_file_runs(tmp_path, capsys):
    jobs = DATA / "jobs" / "mix.yml"
    cluster = DATA / "clusters" / "64.yml"
    assert main(["simulate", "--jobs", str(jobs), "--cluster", str(cluster), "--quiet"]) == 0
    assert "jobs 10: 10 finished, 0 aborted" in capsys.readouterr().out


def test_validate_says_what_kind_of_file_it_read(tmp_path, capsys):
    files = [DATA / "clusters" / "64.yml", DATA / "jobs" / "mix.yml", DATA / "specs" / "oltp.yml"]
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{files[0]}: ok: cluster c64: 64 nodes (database 8, loader 40, any 16)"
    assert out[1].startswith(f"{files[1]}: ok: jobs file: 10 jobs of 3 specs")
    assert out[2].startswith(f"{files[2]}: ok: oltp (nodeAssignments)")
    bad = tmp_path / "c.yml"
    bad.write_text("name: c\nnodes:\n  - id: db\n    coress: 4\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{bad}: read as a cluster file:",
        f"{bad}:4: nodes[0].coress: unknown key (did you mean 'cores'?)",
    ]


def test_graph_into_a_missing_directory(tmp_path, capsys):
    out = tmp_path / "missing" / "dir" / "g.png"
    assert main(["graph", str(DATA / "specs" / "pingpong.yml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {out}: the directory {out.parent} does not exist\n"


def test_examples_lists_and_copies(tmp_path, capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    for title in ("job specs (specs/)", "clusters (clusters/)", "jobs files (jobs/)",
                  "traces (traces/)"):  # fmt: skip
        assert title in out
    assert "  64.yml" in out and "64 nodes in two racks" in out
    assert "SWF trace: synthetic 32-node cluster, 300 jobs" in out
    assert main(["examples", "--path"]) == 0
    assert Path(capsys.readouterr().out.strip()).samefile(DATA)
    dest = tmp_path / "ex"
    assert main(["examples", "--copy", str(dest)]) == 0
    assert (dest / "jobs" / "mix.yml").read_bytes() == (DATA / "jobs" / "mix.yml").read_bytes()
    assert sorted(p.name for p in (dest / "specs").iterdir()) == sorted(
        p.name for p in (DATA / "specs").glob("*.yml")
    )
    capsys.readouterr()
    # a second copy replaces nothing: every clash is named, nothing is written
    (dest / "specs" / "pingpong.yml").write_text("mine")
    assert main(["examples", "--copy", str(dest)]) == 2
    err = capsys.readouterr().err
    assert f"error: {dest / 'specs' / 'pingpong.yml'}: already exists" in err
    assert (dest / "specs" / "pingpong.yml").read_text() == "mine"
