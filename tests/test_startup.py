"""Start-up: ``import benchhub_sim`` and ``benchhub-sim --help`` load no heavy library.

The public names are imported on first use (PEP 562); these tests check the behaviour
(which modules a fresh interpreter holds), not a timing: timings are in ``benchmarks/``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import benchhub_sim as bh

HEAVY = ("pandas", "matplotlib", "networkx", "distributed", "dask", "pyarrow", "numpy")

# run in a fresh interpreter: the test session has imported everything already
PROBE = """
import json, sys
import benchhub_sim
after_import = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
from benchhub_sim.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
after_help = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
cli = sorted(m for m in sys.modules if m.startswith("benchhub_sim.cli."))
# importing a submodule sets the package's attribute of its name, as any import does
import benchhub_sim.execute, benchhub_sim.replay, benchhub_sim.simulate, benchhub_sim.sweep
shown = {n: type(getattr(benchhub_sim, n)).__name__ for n in ("simulate", "execute", "replay", "sweep")}
print(json.dumps([after_import, after_help, cli, shown]), file=sys.stderr)
"""


def test_import_and_help_load_no_heavy_library():
    probe = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    after_import, after_help, cli, shown = json.loads(done.stderr.strip().splitlines()[-1])
    assert after_import == []
    assert after_help == []
    assert cli == ["benchhub_sim.cli.common"]  # no subcommand's module
    # bh.simulate stays the function, not the module benchhub_sim.simulate
    assert shown == dict.fromkeys(("simulate", "execute", "replay", "sweep"), "function")


def test_every_public_name_resolves_and_is_listed():
    for name in bh.__all__:
        assert getattr(bh, name) is not None, name
    assert set(bh.__all__) <= set(dir(bh))


def test_from_the_package_import_gives_the_functions():
    from benchhub_sim import replay, simulate

    assert simulate.__module__ == "benchhub_sim.simulate"
    assert replay.__module__ == "benchhub_sim.replay"


def test_an_unknown_name_is_an_attribute_error():
    try:
        bh.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


REPLAY_PROBE = """
import json, sys
from benchhub_sim.cli import main
code = main(["replay", sys.argv[1], "--policy", "fcfs", "--out", sys.argv[2], "--quiet"])
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def test_replaying_a_trace_loads_no_plotting_graph_or_pandas_code_of_ours(tmp_path):
    """``replay TRACE``: reading, simulating, writing and the summary line need neither
    matplotlib nor networkx, nor the pandas side of the package (folds, metrics).
    (pandas itself is loaded by pyarrow, whose ``pa.array`` probes for it.)"""
    trace = tmp_path / "t.swf"
    trace.write_text("; MaxProcs: 2\n1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 -1 1 1 -1 -1\n")
    done = subprocess.run(
        [sys.executable, "-c", REPLAY_PROBE, str(trace), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        check=True,
    )
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert code == 0
    assert "jobs 1: 1 finished" in done.stdout
    ours = {"benchhub_sim.store.fold", "benchhub_sim.store.query", "benchhub_sim.analysis.metrics"}
    loaded = {m for m in modules if m.split(".")[0] in ("matplotlib", "networkx") or m in ours}
    assert loaded == set()


def test_lazy_names_are_listed_before_their_first_use():
    """Tab completion in a notebook lists the names a package imports on first use."""
    probe = (
        "import json, sys, benchhub_sim, benchhub_sim.analysis as a, benchhub_sim.store as s\n"
        "names = {'bh': sorted(set(benchhub_sim.__all__) - set(dir(benchhub_sim))),\n"
        "         'analysis': sorted(set(a.__all__) - set(dir(a))),\n"
        "         'store': sorted(set(s.__all__) - set(dir(s)))}\n"
        "print(json.dumps([names, 'benchhub_sim.analysis.metrics' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    missing, imported = json.loads(out.stdout)
    assert missing == {"bh": [], "analysis": [], "store": []}
    assert not imported  # listing them imported nothing
