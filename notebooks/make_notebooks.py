"""Write the tutorial notebooks from the cells below (run: ``python notebooks/make_notebooks.py``).

The notebooks are committed without outputs; edit them here so a change shows as a
readable diff. Each notebook finds the repository's ``data/`` folder whether it runs from
``notebooks/`` or from the repository root, and writes its runs to a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import tempfile
from pathlib import Path

# the repository root: the parent of the working directory when run from notebooks/
ROOT = Path.cwd().parent if (Path.cwd().parent / "data").is_dir() else Path.cwd()
DATA = ROOT / "data"
WORK = Path(tempfile.mkdtemp(prefix="benchhub-nb-"))  # runs written by this notebook
DATA, WORK"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


NB01 = [
    md("""
# 1. Job specs and clusters

Load BenchHub job specs, see what validation says about a broken one, load a cluster,
draw a job's stage graph and plan it onto nodes.
"""),
    code(SETUP),
    md(
        "## Load a spec\n\n`load_spec` reads both BenchHub dialects and returns a frozen `JobSpec`."
    ),
    code("""
from benchhub_sim.spec.load import load_spec

spec = load_spec(DATA / "specs" / "db-loaders.yml")
print(spec.name, spec.dialect)
for a in spec.node_assignments:
    print(f"  assignment {a.name}: {a.count} x {a.role.value}")
for p in spec.effective_pipelines():
    print(f"  pipeline {p.name}: {', '.join(p.stages)}")
"""),
    md("""
## Validation: every problem at once, with its line

This spec has a typo in a key, a pipeline naming a stage that does not exist, and a
stage that is in no pipeline and selects an assignment nobody declared.
"""),
    code('''
from benchhub_sim.errors import SpecError

bad = """\\
name: broken
nodeAssignments:
  - properties: {name: srv, role: database}
pipelines:
  - name: go
    stages: [start, ping]
stages:
  - name: start
    selelectors: [{name: srv}]
    tasks: [{driver: shell, shell: {command: ./server}}]
  - name: run
    selectors: [{name: client}]
    tasks: [{driver: shell, shell: {command: ./client}}]
"""
try:
    load_spec(bad, name_hint="broken.yml")
except SpecError as exc:
    for problem in exc.problems:
        print(problem)
'''),
    md("## A cluster\n\nNodes with a preferred role, capacity and labels."),
    code("""
from benchhub_sim.cluster import cluster_table, load_cluster

cluster = load_cluster(DATA / "clusters" / "small.yml")
cluster_table(cluster).to_pandas()[["node_id", "role", "cores", "mem_mb", "disk_mb", "labels"]]
"""),
    md("""
## The stage graph

Pipelines run left to right; background stages are squares; a dashed edge waits for a
background stage to be *ready*. The critical path uses the tasks' mean durations.
"""),
    code("""
import matplotlib.pyplot as plt

from benchhub_sim.graph import critical_path, plot_stage_graph, stage_graph

graph = stage_graph(spec, tasks=True)
path, length = critical_path(graph)
print("critical path:", " -> ".join(map(str, path)), f"({length:.0f} s)")
fig, ax = plt.subplots(figsize=(10, 4))
plot_stage_graph(graph, ax=ax);
"""),
    md("""
## Plan: which node runs what

The database slot takes the database node; the three loader slots take the two loaders
and the node of role `any`. Templates such as `{{.Nodes.db.Ip}}` are rendered.
"""),
    code("""
from benchhub_sim.plan import plan_job
from benchhub_sim.spec.walltime import estimate_walltime

print(plan_job(spec, cluster).to_text())
print(f"walltime estimate: {estimate_walltime(spec):.0f} s")
"""),
]

NB02 = [
    md("""
# 2. Simulate a stream and explore the run

A Poisson stream of benchmark jobs on the 64-node cluster under EASY backfilling; then
the node and job stores at any instant (`as_of`), one job in detail, and plots.
"""),
    code(SETUP),
    code("""
from benchhub_sim.analysis.metrics import summary
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.workload.arrivals import poisson_arrivals

specs = [load_spec(DATA / "specs" / n) for n in ("pingpong.yml", "db-loaders.yml", "oltp.yml")]
stream = poisson_arrivals(specs, rate=0.05, count=200, seed=1, mix="random")
run = simulate(DATA / "clusters" / "64.yml", stream, policy="easy", seed=1, out=WORK / "easy")
run
"""),
    code("summary(run)"),
    code(
        """run.jobs[["job_id", "name", "submit_time", "start_time", "stop_time", "status", "n_nodes", "walltime"]].head()"""
    ),
    md("""
## The stores at one instant

`as_of(run, t)` folds the history up to `t`: which nodes were busy, which jobs queued.
"""),
    code("""
from benchhub_sim.store import as_of

state = as_of(run, 2000.0)
print(state["nodes"]["state"].value_counts().to_string())
print(state["jobs"]["status"].value_counts().to_string())
"""),
    code("""
state["jobs"].query("status == 'running'")[["job_id", "name", "start_time", "current_pipeline", "foreground_stages", "background_stages"]].head()
"""),
    md("## One job, as BenchHub's store note nests it: pipelines → stages → nodes → tasks"),
    code("""
from benchhub_sim.store import job_detail

job_id = int(run.jobs.loc[run.jobs["name"] == "db-loaders", "job_id"].iloc[0])
detail = job_detail(run, job_id)
print(f"job {job_id} {detail['name']}: {detail['status']}")
for node in detail["nodes"]:
    print(f"  {node['node_name']:>10} -> {node['node_id']} ({node['match']})")
for p in detail["pipelines"]:
    for s in p["stages"]:
        for n in s["nodes"]:
            tasks = ", ".join(f"{t['task_name']}:{t['status']}" for t in n["tasks"])
            print(f"  p{p['pipeline']} {s['stage_name']:>14} on {n['node_name']:>10}: {n['status']:<10} {tasks}")
"""),
    md("## Plots"),
    code("""
import matplotlib.pyplot as plt

from benchhub_sim.analysis.plot import (
    plot_gantt,
    plot_job_timeline,
    plot_node_states,
    plot_queue_length,
    plot_utilization,
)

fig, ax = plt.subplots(figsize=(11, 6))
plot_gantt(run, ax=ax);
"""),
    code("""
fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, layout="constrained")
plot_utilization(run, ax=axes[0])
plot_queue_length(run, ax=axes[1])
plot_node_states(run, ax=axes[2]);
"""),
    code("""
fig, ax = plt.subplots(figsize=(10, 3.5))
plot_job_timeline(run, job_id, ax=ax);
"""),
    md("## The run directory on disk, and a self-contained HTML report"),
    code("""
from benchhub_sim.analysis.report import write_report
from benchhub_sim.store import load_run

again = load_run(WORK / "easy")
print(sorted(p.name for p in (WORK / "easy").iterdir()))
print(write_report(again, WORK / "report.html"))
"""),
]

NB03 = [
    md("""
# 3. Replay and compare

Replay a public-style SWF trace and a recorded run under several policies and clusters,
then compare the runs side by side.
"""),
    code(SETUP),
    md("## An SWF trace (Parallel Workloads Archive format)"),
    code("""
from benchhub_sim.workload.swf import read_swf, swf_cluster_size

trace = read_swf(DATA / "traces" / "synthetic.swf")
print({k: trace.header[k] for k in ("Computer", "MaxProcs", "MaxJobs")}, swf_cluster_size(trace))
trace.jobs[["job_number", "submit_time", "run_time", "requested_procs", "requested_time"]].head()
"""),
    code("""
from benchhub_sim.analysis.metrics import compare_runs
from benchhub_sim.workload.replay import replay

policies = ["fcfs", "easy", "conservative", "sjf"]
trace_runs = [replay(trace, policy=p) for p in policies]
compare_runs(trace_runs, policies)[["jobs", "finished", "makespan", "mean_wait", "p95_wait", "mean_bounded_slowdown", "utilization"]]
"""),
    code("""
import matplotlib.pyplot as plt

from benchhub_sim.analysis.plot import plot_wait_cdf

fig, ax = plt.subplots(figsize=(8, 4))
plot_wait_cdf(trace_runs, policies, ax=ax)
ax.set_xscale("symlog");
"""),
    md("""
## A recorded run, replayed

Record a run (here simulated; a real run from `benchhub-sim run` replays the same way),
then replay its jobs — same submit times, each task's observed duration — under other
policies, on a cluster without its 12 nodes of role `any`, twice as fast, and from the
state it was in half-way.
"""),
    code("""
from benchhub_sim.cluster import Cluster, load_cluster
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.workload.arrivals import poisson_arrivals

specs = [load_spec(DATA / "specs" / n) for n in ("pingpong.yml", "db-loaders.yml", "oltp.yml")]
c64 = load_cluster(DATA / "clusters" / "64.yml")
stream = poisson_arrivals(specs, rate=0.05, count=200, seed=2, mix="random")
recorded = simulate(c64, stream, policy="fcfs", seed=2, out=WORK / "recorded")

smaller = Cluster(tuple(n for n in c64.nodes if not n.node_id.startswith("any")), name="c64 - 12 any")
half = float(recorded.jobs["stop_time"].max()) / 2
replays = {
    "recorded (fcfs)": recorded,
    "easy": replay(WORK / "recorded", policy="easy"),
    "sjf": replay(WORK / "recorded", policy="sjf"),
    "fcfs, 52 nodes": replay(WORK / "recorded", cluster=smaller),
    "fcfs, speedup 2": replay(WORK / "recorded", speedup=2),
    f"easy from t={half:.0f}": replay(WORK / "recorded", policy="easy", warm_start=half),
}
compare_runs(list(replays.values()), list(replays))[["jobs", "finished", "makespan", "mean_wait", "p95_wait", "mean_bounded_slowdown", "utilization"]]
"""),
    code("""
fig, ax = plt.subplots(figsize=(8, 4))
plot_wait_cdf(list(replays.values())[:5], list(replays)[:5], ax=ax);
"""),
    md("Per job: how much earlier did each job start under EASY than in the recording?"),
    code("""
from benchhub_sim.analysis.metrics import compare_jobs

per_job = compare_jobs(recorded, replays["easy"])
per_job.sort_values("wait_diff").head(8)
"""),
    md("## Export for other tools: SWF and Batsim's `jobs.csv` (evalys reads it)"),
    code("""
easy = replays["easy"]
print(easy.to_swf(WORK / "easy.swf"), easy.to_batsim_csv(WORK / "easy-jobs.csv"))
print((WORK / "easy-jobs.csv").read_text().splitlines()[0])
"""),
]

NOTEBOOKS = {
    "01_specs_and_cluster.ipynb": NB01,
    "02_simulate_and_report.ipynb": NB02,
    "03_replay_and_compare.ipynb": NB03,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook into ``folder`` (no outputs); return their paths."""
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"  # stable ids: no churn on rebuild
        nbformat.validate(nb)
        path = folder / name
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p)
