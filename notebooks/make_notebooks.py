"""Write the tutorial notebooks from the cells below (run: ``python notebooks/make_notebooks.py``).

The notebooks are committed without outputs; edit them here so a change shows as a
readable diff. Each notebook reads the shipped examples (``bh.examples_dir()``, wherever
the package is installed) and writes its runs to a temporary directory it removes at
its end.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import shutil
import tempfile
from pathlib import Path

import benchhub_sim as bh

DATA = bh.examples_dir()  # the shipped examples: specs/, clusters/, jobs/, traces/
WORK = Path(tempfile.mkdtemp(prefix="benchhub-nb-"))  # runs written here, removed at the end
DATA, WORK"""

CLEANUP = """\
shutil.rmtree(WORK)  # the runs this notebook wrote
plt.close("all")"""


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
    md("""
## Load a spec

`load_spec` reads both BenchHub dialects and returns a frozen `JobSpec`; a notebook shows
it as its pipelines, stages and tasks.
"""),
    code("""
spec = bh.load_spec(DATA / "specs" / "db-loaders.yml")
spec
"""),
    md("""
## Validation: every problem at once, with its line

This spec has a typo in a key, a pipeline naming a stage that does not exist, and a
stage that is in no pipeline and selects an assignment nobody declared.
"""),
    code('''
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
    bh.load_spec(bad, name_hint="broken.yml")
except bh.SpecError as exc:
    for problem in exc.problems:
        print(problem)
'''),
    md(
        "## A cluster\n\nNodes with a preferred role, capacity and labels: by role, then one row per node."
    ),
    code("""
cluster = bh.load_cluster(DATA / "clusters" / "small.yml")
cluster
"""),
    code(
        """bh.cluster_table(cluster)[["node_id", "role", "cores", "mem_mb", "disk_mb", "labels"]]"""
    ),
    md("""
## The stage graph

Pipelines run left to right; background stages are squares; a dashed edge waits for a
background stage to be *ready*; the stage that stops the database has a red ring. The
critical path uses the tasks' mean durations.
"""),
    code("""
graph = bh.stage_graph(spec, tasks=True)
path, length = bh.critical_path(graph)
print("critical path:", " -> ".join(map(str, path)), f"({length:.0f} s)")
bh.plot_stage_graph(graph);
"""),
    md("""
## Plan: which node runs what

The database slot takes the database node; the three loader slots take the two loaders
and the node of role `any`. Templates such as `{{.Nodes.db.Ip}}` are rendered.
"""),
    code("""
plan = bh.plan_job(spec, cluster)
plan
"""),
    code("""
print(plan.to_text())
print(f"walltime estimate: {bh.estimate_walltime(spec):.0f} s")
"""),
    code("""import matplotlib.pyplot as plt\n\n""" + CLEANUP),
]

NB02 = [
    md("""
# 2. Simulate a stream and explore the run

A Poisson stream of benchmark jobs on the 64-node cluster under EASY backfilling; then
the node and job stores at any instant (`as_of`), one job in detail, and plots.
"""),
    code(SETUP),
    code("""
specs = [bh.load_spec(DATA / "specs" / n) for n in ("pingpong.yml", "db-loaders.yml", "oltp.yml")]
jobs = bh.poisson_arrivals(specs, rate=0.05, count=200, seed=1, mix="random")
run = bh.simulate(DATA / "clusters" / "64.yml", jobs, policy="easy", seed=1, out=WORK / "easy")
run
"""),
    md("The headline numbers: units in the names, shown rounded, exact underneath."),
    code("bh.summary(run)"),
    code(
        """run.jobs[["job_id", "name", "submit_time", "start_time", "stop_time", "status", "n_nodes", "walltime"]].head()"""
    ),
    md("""
## The stores at one instant

`as_of(run, t)` folds the history up to `t`: which nodes were busy, which jobs queued.
"""),
    code("""
state = bh.as_of(run, 2000.0)
print(state["nodes"]["state"].value_counts().to_string())
print(state["jobs"]["status"].value_counts().to_string())
"""),
    code("""
state["jobs"].query("status == 'running'")[["job_id", "name", "start_time", "current_pipeline", "foreground_stages", "background_stages"]].head()
"""),
    md("""
## One job: its stages by node, its tasks, its assignments

`job_detail` gives DataFrames (`.stages`, `.tasks`, `.nodes`, `.events`); `.to_dict()`
nests them as BenchHub's store note does: pipelines → stages → nodes → tasks.
"""),
    code("""
job_id = int(run.jobs.loc[run.jobs["name"] == "db-loaders", "job_id"].iloc[0])
detail = bh.job_detail(run, job_id)
detail
"""),
    code(
        """detail.tasks[["stage", "node_name", "task_name", "attempt", "status", "start_time", "stop_time"]]"""
    ),
    md("## Plots"),
    code("""
import matplotlib.pyplot as plt

bh.plot_gantt(run);
"""),
    code("""
fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, layout="constrained")
bh.plot_utilization(run, ax=axes[0])
bh.plot_queue_length(run, ax=axes[1])
bh.plot_node_states(run, ax=axes[2]);
"""),
    code("""bh.plot_job_timeline(run, job_id);"""),
    md("## The run directory on disk, and a self-contained HTML report"),
    code("""
again = bh.load_run(WORK / "easy")
print(sorted(p.name for p in (WORK / "easy").iterdir()))
print(bh.write_report(again, WORK / "report.html"))
"""),
    code(CLEANUP),
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
from benchhub_sim.workload.swf import swf_cluster_size

trace = bh.read_swf(DATA / "traces" / "synthetic.swf")
print({k: trace.header[k] for k in ("Computer", "MaxProcs", "MaxJobs")}, swf_cluster_size(trace))
trace.jobs[["job_number", "submit_time", "run_time", "requested_procs", "requested_time"]].head()
"""),
    code("""
policies = ["fcfs", "easy", "conservative", "sjf"]
trace_runs = [bh.replay(trace, policy=p) for p in policies]
bh.compare_runs(trace_runs, policies)
"""),
    code("""
import matplotlib.pyplot as plt

bh.plot_wait_cdf(trace_runs, policies, log=True);  # the zero waits and the long tail both readable
"""),
    md("""
## A recorded run, replayed

Record a run (here simulated; a real run from `benchhub-sim run` replays the same way),
then replay its jobs — same submit times, each task's observed duration — under other
policies, on a cluster without its 12 nodes of role `any`, twice as fast, and from the
state it was in half-way.
"""),
    code("""
specs = [bh.load_spec(DATA / "specs" / n) for n in ("pingpong.yml", "db-loaders.yml", "oltp.yml")]
c64 = bh.load_cluster(DATA / "clusters" / "64.yml")
jobs = bh.poisson_arrivals(specs, rate=0.05, count=200, seed=2, mix="random")
recorded = bh.simulate(c64, jobs, policy="fcfs", seed=2, out=WORK / "recorded")

smaller = bh.Cluster(tuple(n for n in c64.nodes if not n.node_id.startswith("any")), name="c64 - 12 any")
half = float(recorded.jobs["stop_time"].max()) / 2
replays = {
    "recorded (fcfs)": recorded,
    "easy": bh.replay(WORK / "recorded", policy="easy"),
    "sjf": bh.replay(WORK / "recorded", policy="sjf"),
    "fcfs, 52 nodes": bh.replay(WORK / "recorded", cluster=smaller),
    "fcfs, speedup 2": bh.replay(WORK / "recorded", speedup=2),
    f"easy from t={half:.0f}": bh.replay(WORK / "recorded", policy="easy", warm_start=half),
}
bh.compare_runs(list(replays.values()), list(replays))
"""),
    md("""
The waits of the first five, by spec and as CDFs: the smaller cluster's long waits
would squash the others on a linear axis, so the axes are symmetric-log (`log=True`:
linear below 1 s, where the zero waits are).
"""),
    code("""
five = list(replays)[:5]
bh.plot_wait_by_spec([replays[k] for k in five], five, log=True);
"""),
    code("""
bh.plot_wait_cdf([replays[k] for k in five], five, log=True);
"""),
    md("Per job: how much earlier did each job start under EASY than in the recording?"),
    code("""
per_job = bh.compare_jobs(recorded, replays["easy"])
per_job.sort_values("wait_diff").head(8).round(2)
"""),
    md("## Export for other tools: SWF and Batsim's `jobs.csv` (evalys reads it)"),
    code("""
easy = replays["easy"]
print(easy.to_swf(WORK / "easy.swf"), easy.to_batsim_csv(WORK / "easy-jobs.csv"))
print((WORK / "easy-jobs.csv").read_text().splitlines()[0])
"""),
    code(CLEANUP),
]

NB04 = [
    md("""
# 4. Plot gallery

Every plot of the package on one small workload run under two policies. Each takes
`ax=None` (a new figure, laid out so saving keeps its labels) and returns the Axes;
none calls `show()`.
"""),
    code(SETUP),
    code("""
import matplotlib.pyplot as plt

specs = [bh.load_spec(DATA / "specs" / n) for n in ("pingpong.yml", "db-loaders.yml", "oltp.yml")]
cluster = bh.load_cluster(DATA / "clusters" / "64.yml")
jobs = bh.poisson_arrivals(specs, rate=0.06, count=80, seed=3, mix="random")
runs = [bh.simulate(cluster, jobs, policy=p, seed=3) for p in ("fcfs", "sjf")]
run = runs[0]
bh.compare_runs(runs)
"""),
    md("## `plot_stage_graph`: a job's pipelines, stages, where they run, what stops what"),
    code("""bh.plot_stage_graph(specs[1]);"""),
    md("## `plot_gantt`: which job held each node when, nodes grouped by role, coloured by spec"),
    code("""bh.plot_gantt(run);"""),
    md("Coloured by final status instead (a red `x` ends an aborted job either way):"),
    code("""bh.plot_gantt(run, color_by="status");"""),
    md("## `plot_job_timeline`: one job's stages by node, background spans hatched"),
    code("""
job_id = int(run.jobs.loc[run.jobs["name"] == "db-loaders", "job_id"].iloc[0])
bh.plot_job_timeline(run, job_id);
"""),
    md("## `plot_utilization` and `plot_queue_length`: one run, or several on one axes"),
    code("""bh.plot_utilization(runs);"""),
    code("""bh.plot_queue_length(runs);"""),
    md("## `plot_node_states`: nodes in each state of the node store"),
    code("""bh.plot_node_states(run);"""),
    md("## `plot_wait_cdf` and `plot_wait_by_spec`: waits compared across runs"),
    code("""bh.plot_wait_cdf(runs);"""),
    code("""bh.plot_wait_by_spec(runs);"""),
    md("## `plot_stage_durations`: each stage's duration on one node, per spec"),
    code("""bh.plot_stage_durations(run);"""),
    md("""
## A real run: `plot_metrics` and `plot_stage_comparison`

The ping-pong example really runs here (a few seconds): its agents sample each task's
process tree and each node (every 0.2 s here), and its client reports each request's
latency as a benchmark result.
"""),
    code("""
pingpong = DATA / "specs" / "pingpong-local.yml"
real = bh.execute(None, pingpong, out=WORK / "real", metrics_interval=0.2)
bh.results_summary(real)
"""),
    md("`plot_metrics`: a metric by node, or one node and each of its tasks:"),
    code("""bh.plot_metrics(real, "cpu_percent", node="local-0");"""),
    md("`plot_stage_comparison`: one stage's durations in the real run and in a simulation:"),
    code("""
local = bh.load_cluster(DATA / "clusters" / "local.yml")
simulated = bh.simulate(local, [bh.load_spec(pingpong)] * 20, seed=1)
bh.plot_stage_comparison([real, simulated], "start_server", ["real", "simulated"]);
"""),
    code(CLEANUP),
]

NOTEBOOKS = {
    "01_specs_and_cluster.ipynb": NB01,
    "02_simulate_and_report.ipynb": NB02,
    "03_replay_and_compare.ipynb": NB03,
    "04_plot_gallery.ipynb": NB04,
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
