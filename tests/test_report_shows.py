"""Issue 18 item 4 (and item 3's report part): the report shows what matters.

Pruned trials are "pruned" everywhere; a parameter shows only where it was
active; a nested choice is plotted per option; parameter importance and a
parallel-coordinate plot; the objective (`loss = -accuracy`) and the metric
itself; --quiet's logs linked; one line names the file to open; `--watch`
rewrites the report as trials finish. Hand-written run directories, in the
format of docs/run-directory.md.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hyperasc.report import importance as importance_module
from hyperasc.report import plots, write_report
from hyperasc.report.importance import importance
from hyperasc.report.render import render_csv, render_html
from hyperasc.report.run import read_run

from helpers import CHROMIUM, ROOT, invoke
from test_report import (
    make_run,
    make_trial,
    parse_html,
    pruned_trial,
    read_csv,
    run_json,
)


def record(
    name, distribution, args, values=None, parent=None, active=None, nested=None
):
    return {
        "name": name,
        "distribution": distribution,
        "args": args,
        "values": values,
        "parent": parent,
        "active": active,
        "nested": nested or {},
    }


SPACE = [
    record("Dropout", "uniform", ["0", "1"]),
    record("optimizer", "choice", ['["adam", "sgd"]'], ["adam", "sgd"]),
    # A handle under `if optimizer == "sgd"`: named as the `cond` branch names them.
    record(
        "optimizer=sgd.learning_rate",
        "loguniform",
        ["-9", "-2"],
        parent="optimizer",
        active=[1],
    ),
    record(
        "extra",
        "choice",
        ["[None, uniform(0, 0.5)]"],
        [None, "uniform(0, 0.5)"],
        nested={"1": "extra_opt1"},
    ),
    record("extra_opt1", "uniform", ["0", "0.5"], parent="extra", active=[1]),
]
OBJECTIVE = {
    "expression": "-accuracy",
    "function": "create_model",
    "line": 52,
    "metric": "accuracy",
    "sign": -1,
    "offset": 0,
}


def conditional_trials(n: int, seed: int = 1, listed_inactive: bool = False) -> list:
    """Trials whose accuracy depends on Dropout (much) and optimizer (a little).

    `listed_inactive`: the sgd learning rate is listed in adam trials too, as a
    run directory of an earlier version (or a hand edit) may have it.
    """
    rng = random.Random(seed)
    trials = []
    for tid in range(n):
        optimizer = ["adam", "sgd"][tid % 2]
        params = {"Dropout": rng.random(), "optimizer": optimizer}
        if optimizer == "sgd" or listed_inactive:
            params["optimizer=sgd.learning_rate"] = math.exp(rng.uniform(-9, -2))
        if tid % 3 == 0:
            params["extra"] = None
        else:
            value = round(rng.uniform(0, 0.5), 4)
            params["extra"] = params["extra_opt1"] = value
        accuracy = 0.95 - 0.5 * abs(params["Dropout"] - 0.3)
        accuracy += 0.02 * (optimizer == "adam") + rng.gauss(0, 0.005)
        trials.append(make_trial(tid, loss=-accuracy, params=params))
    return trials


def conditional_run(root: Path, n: int = 30, **kwargs) -> Path:
    info = run_json(SPACE, objective=OBJECTIVE, max_evals=n)
    return make_run(root, conditional_trials(n, **kwargs), info=info)


def light_report(
    run_dir: Path,
    draw: tuple[str, ...] = (),
    report_dir: Path | None = None,
    with_importance: bool = False,
    imp: Any = None,
) -> None:
    """trials.csv and report.html as write_report writes them, with only the plots a
    test looks at drawn: drawing every plot in every test made the fast lane slow."""
    run = read_run(run_dir)
    report_dir = report_dir or run_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    imp = importance(run) if with_importance and imp is None else imp
    mpl = plots._matplotlib()
    drawers = {
        "loss": lambda: plots.plot_loss(run, mpl),
        "duration": lambda: plots.plot_duration(run, mpl),
        "parallel": lambda: plots.plot_parallel(run, imp, mpl),
        "importance": lambda: plots.plot_importance(imp, mpl),
    }
    drawn = [
        (
            drawers[name]()
            if name in drawers
            else plots.plot_param(run, name, "p.png", mpl)
        )
        for name in draw
    ]
    (report_dir / "trials.csv").write_bytes(render_csv(run))
    page = render_html(run, [p for p in drawn if p is not None], imp, report_dir)
    (report_dir / "report.html").write_bytes(page)


@pytest.fixture
def figures(monkeypatch):
    """Every matplotlib figure the report draws, kept to look at its texts and artists."""
    drawn = {}
    real = plots._png

    def keep(fig):
        drawn[fig.axes[0].get_title() if fig.axes else ""] = fig
        return real(fig)

    monkeypatch.setattr(plots, "_png", keep)
    return drawn


def figure(drawn: dict, start: str):
    found = [fig for title, fig in drawn.items() if title.startswith(start)]
    assert len(found) == 1, (start, list(drawn))
    return found[0]


def texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        out.append(ax.get_xlabel())
        out.append(ax.get_ylabel())
        out.append(ax.get_title())
        legend = ax.get_legend()
        out += [t.get_text() for t in legend.get_texts()] if legend else []
    return out


def points(ax) -> int:
    return sum(
        len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")
    )


# --------------------------------------------------------------------------- pruned


def test_pruned_trials_are_pruned_in_the_plots_table_csv_and_counts(tmp_path, figures):
    trials = [make_trial(t) for t in range(4)] + [
        pruned_trial(4, 1),
        make_trial(5, ok=False),
    ]
    run = make_run(tmp_path / "run", trials)
    light_report(run, ("duration", "loss"))
    duration = figure(figures, "Trial duration")
    legend = [t.get_text() for t in duration.axes[0].get_legend().get_texts()]
    assert legend == ["ok", "pruned", "failed"]
    loss = figure(figures, "Loss per trial")
    assert "(1 failed and 1 pruned trials not shown)" in loss.axes[0].get_title()
    html = (run / "report" / "report.html").read_text()
    assert "4 ok, 1 pruned, 1 failed." in html
    assert re.search(
        r'<tr class="pruned"><td data-v="4.0">4</td><td data-v="pruned">pruned', html
    )
    _, rows = read_csv(run / "report" / "trials.csv")
    assert [r["status"] for r in rows] == ["ok"] * 4 + ["pruned", "fail"]


# --------------------------------------------------------------------------- active parameters


@pytest.mark.parametrize("listed_inactive", [False, True])
def test_a_parameter_shows_only_where_it_was_active(tmp_path, figures, listed_inactive):
    run = conditional_run(tmp_path / "run", listed_inactive=listed_inactive)
    lr = "optimizer=sgd.learning_rate"
    light_report(run, (lr,))
    _, rows = read_csv(run / "report" / "trials.csv")
    assert [bool(r[lr]) for r in rows] == [r["optimizer"] == "sgd" for r in rows]
    # An active None is written as None, not as an empty (inactive) cell.
    assert [r["extra"] == "None" for r in rows] == [i % 3 == 0 for i in range(30)]
    assert [r["extra_opt1"] == "" for r in rows] == [i % 3 == 0 for i in range(30)]

    data = read_run(run)
    best = data.best
    page = (run / "report" / "report.html").read_text()
    best_table = page[page.index('id="best"') : page.index('id="plots"')]
    assert best.params["optimizer"] == "adam"  # the search favours adam
    assert f"<th>{lr}</th>" not in best_table
    assert "<th>Dropout</th>" in best_table

    # The search space says when it is sampled.
    assert (
        f"<td>{lr}</td><td>loguniform</td><td><code>-9, -2</code></td><td>optimizer is sgd</td>"
        in page
    )
    assert (
        "<td>extra_opt1</td><td>uniform</td><td><code>0, 0.5</code></td><td>extra is uniform(0, 0.5)</td>"
        in page
    )

    plot = figure(figures, lr)
    assert points(plot.axes[0]) == 15  # the sgd trials only
    assert "15 trials where not active left out" in plot.axes[0].get_title()
    assert plot.axes[0].get_xscale() == "log"


# --------------------------------------------------------------------------- nested choices


@pytest.mark.parametrize("with_nested", [True, False])
def test_a_nested_choice_is_plotted_per_option(tmp_path, figures, with_nested):
    space = json.loads(json.dumps(SPACE))
    if not with_nested:  # a run.json of an earlier version: no parent, active, nested
        space = [
            {k: e[k] for k in ("name", "distribution", "args", "values")} for e in space
        ]
    info = run_json(space, objective=OBJECTIVE)
    run = make_run(tmp_path / "run", conditional_trials(30), info=info)
    light_report(run, ("extra", "extra_opt1"))
    ax = figure(figures, "extra ~ choice").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["None", "uniform(0, 0.5)"]
    # Each option's trials sit at its place: 10 took None, 20 the nested uniform.
    xs = [x for c in ax.collections for x, _ in c.get_offsets()]
    assert sum(round(x) == 0 for x in xs) == 10 and sum(round(x) == 1 for x in xs) == 20
    inner = figure(figures, "extra_opt1").axes[0]
    assert points(inner) == 20


# --------------------------------------------------------------------------- importance


def test_importance_ranks_the_parameter_the_loss_depends_on(tmp_path, figures):
    run = conditional_run(tmp_path / "run", n=40)
    first = importance_module.importance(read_run(run))
    again = importance_module.importance(read_run(run))
    light_report(run, ("importance",), imp=first)
    assert first.scores == again.scores  # seeded: the same run, the same bars
    assert first.scores[0][0] == "Dropout" and first.scores[0][1] > 0.5
    assert math.isclose(sum(s for _, s in first.scores), 1.0)
    assert first.used == first.ok == 40
    page = parse_html(run / "report" / "report.html")
    text = "".join(page.text)
    assert "a random forest learns the loss" in text
    assert "not active" in text  # the small print says how inactive values count
    bars = figure(figures, "Parameter importance")
    labels = [t.get_text() for t in bars.axes[0].get_yticklabels()]
    assert labels[-1] == "Dropout"  # the longest bar, on top


def test_importance_is_skipped_with_a_reason(tmp_path, monkeypatch):
    few = conditional_run(tmp_path / "few", n=5)
    light_report(few, with_importance=True)
    assert (
        "No parameter importance: needs at least 8 successful trials (this run has 5)."
        in (few / "report" / "report.html").read_text()
    )

    many = conditional_run(tmp_path / "many", n=30)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` fails
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    light_report(many, with_importance=True)
    assert (
        "No parameter importance: needs scikit-learn, which is not installed"
        in (many / "report" / "report.html").read_text()
    )


def test_importance_of_many_trials_uses_a_seeded_sample_and_says_so(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(importance_module, "MAX_TRIALS", 20)
    run = conditional_run(tmp_path / "run", n=50)
    imp = importance_module.importance(read_run(run))
    assert (imp.used, imp.ok) == (20, 50)
    assert imp.scores == importance_module.importance(read_run(run)).scores
    light_report(run, with_importance=True)
    assert (
        "a random sample of 20 of the 50 successful trials (seed 0)"
        in (run / "report" / "report.html").read_text()
    )


# --------------------------------------------------------------------------- parallel coordinates


def test_parallel_coordinates_one_axis_per_parameter(tmp_path, figures):
    run = conditional_run(tmp_path / "run", n=30)
    written = write_report(run)
    assert run / "report" / "parallel.png" in written
    assert run / "report" / "importance.png" in written
    fig = figure(figures, "Parallel coordinates")
    ax = fig.axes[0]
    axis_labels = [t.get_text() for t in ax.get_xticklabels()]
    # Most important first, then the metric the loss stands for.
    assert axis_labels[0] == "Dropout" and axis_labels[-1] == "accuracy"
    assert len(axis_labels) == len(SPACE) + 1
    assert any(lbl.endswith("(log)") for lbl in axis_labels)  # the loguniform rate
    words = texts(fig)
    assert "not active" in words  # adam trials cross the sgd rate's axis there
    assert "None" in words and "uniform(0, 0.5)" in words and "adam" in words
    lines = [c for c in ax.collections if c.get_segments()]
    assert sum(len(c.get_segments()) for c in lines) == 29  # and the best, drawn apart
    assert fig.axes[1].get_ylabel() == "accuracy"  # the colour bar


# --------------------------------------------------------------------------- objective


def test_the_objective_and_its_metric_are_shown(tmp_path, figures):
    run = conditional_run(tmp_path / "run", n=10)
    light_report(run, ("loss",))
    html = (run / "report" / "report.html").read_text()
    assert "loss = -accuracy (create_model, line 52)" in html
    best = read_run(run).best
    assert f"accuracy <strong>{-best.loss:.6g}</strong> (loss {best.loss:.6g})" in html
    columns, rows = read_csv(run / "report" / "trials.csv")
    assert columns[:4] == ["tid", "status", "loss", "accuracy"]
    assert all(math.isclose(float(r["accuracy"]), -float(r["loss"])) for r in rows)
    ax = figure(figures, "accuracy per trial").axes[0]
    assert ax.get_ylabel() == "accuracy"
    ys = [y for c in ax.collections for _, y in c.get_offsets()]
    assert (
        max(ys) == pytest.approx(-best.loss) and min(ys) > 0
    )  # the metric, not -accuracy


def test_without_an_objective_the_loss_is_shown_as_before(tmp_path, figures):
    info = run_json(SPACE)
    run = make_run(tmp_path / "run", conditional_trials(10), info=info)
    light_report(run, ("loss",))
    html = (run / "report" / "report.html").read_text()
    assert 'id="objective"' not in html and "<th>accuracy</th>" not in html
    assert figure(figures, "Loss per trial").axes[0].get_ylabel() == "loss"


# --------------------------------------------------------------------------- logs


def test_quiet_logs_are_linked_where_the_file_is(tmp_path):
    trials = [make_trial(t) for t in range(3)]
    for t in trials:
        t["log"] = f"logs/trial-{t['tid']}.log"
    trials[2]["log"] = "../../secret.txt"  # not the name --quiet writes: never linked
    run = make_run(tmp_path / "run", trials)
    (run / "logs").mkdir()
    (run / "logs" / "trial-0.log").write_text("epoch 1/3\n")  # trial 1's log is gone
    light_report(run)
    page = parse_html(run / "report" / "report.html")
    links = [a["href"] for tag, a in page.tags if tag == "a"]
    assert links == ["../logs/trial-0.log"]
    assert (run / "report" / links[0]).resolve() == (run / "logs" / "trial-0.log")
    elsewhere = tmp_path / "elsewhere dir"
    light_report(run, report_dir=elsewhere)
    page = parse_html(elsewhere / "report.html")
    (href,) = [a["href"] for tag, a in page.tags if tag == "a"]
    assert href == "../run/logs/trial-0.log"


# --------------------------------------------------------------------------- the line to open


@pytest.mark.parametrize(
    "fmt, name",
    [("all", "report.html"), ("csv", "trials.csv")],
)
def test_one_line_names_the_file_to_open(tmp_path, fmt, name):
    run = make_run(tmp_path / "my run's dir", [make_trial(t) for t in range(3)])
    result = invoke(["report", str(run), "--format", fmt])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    words = shlex.split(line)
    assert words == ["open", str(run / "report" / name)]


# --------------------------------------------------------------------------- --watch


def hold_lock(run: Path) -> int:
    """Hold the run's lock as a running search does (runtime/run_lock.py)."""
    import fcntl

    fd = os.open(run / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def watch_process(run: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hyperasc",
            "report",
            str(run),
            "--watch",
            "--interval",
            "0.2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(check, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def page_trials(run: Path) -> int:
    page = run / "report" / "report.html"
    return page.read_text().count("<tr class=") if page.exists() else -1


@pytest.mark.slow  # starts a process that renders the report several times
@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_watch_rewrites_as_trials_finish_and_stops_when_the_search_has(tmp_path):
    trials = [make_trial(t) for t in range(6)]
    run = make_run(tmp_path / "run", trials[:2], info=run_json(max_evals=6))
    lock = hold_lock(run)  # a search is running
    proc = watch_process(run)
    try:
        wait_for(lambda: page_trials(run) == 2)
        html = (run / "report" / "report.html").read_text()
        assert '<meta http-equiv="refresh" content="1">' in html

        def finish_trials() -> None:  # the search goes on, a trial at a time
            for t in trials[2:]:
                time.sleep(0.5)
                with (run / "trials.jsonl").open("a") as f:
                    f.write(json.dumps(t) + "\n")

        writer = threading.Thread(target=finish_trials)
        writer.start()
        writer.join()
        wait_for(lambda: page_trials(run) == 6)
        time.sleep(1.0)
        assert (
            proc.poll() is None
        ), "all trials are in, but the search still holds the lock"
        os.close(lock)  # the search ends
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.splitlines() == [f"open {run / 'report' / 'report.html'}"]
    assert "the search has finished" in err
    assert "report: 6 of 6 trials (6 ok, 0 pruned, 0 failed)" in err
    html = (run / "report" / "report.html").read_text()
    assert page_trials(run) == 6 and "http-equiv" not in html


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_watch_waits_for_the_search_and_stops_cleanly_on_ctrl_c(tmp_path):
    run = tmp_path / "run"
    proc = watch_process(run)  # before the search has made its directory
    try:
        time.sleep(1.0)
        assert proc.poll() is None
        make_run(run, [make_trial(t) for t in range(2)], info=run_json(max_evals=6))
        wait_for(lambda: page_trials(run) == 2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped watching (Ctrl-C); the report no longer reloads itself" in err
    assert "Traceback" not in err
    assert err.count(f"note: waiting for a search to write {run}") == 1
    assert "http-equiv" not in (run / "report" / "report.html").read_text()


# --------------------------------------------------------------------------- browser

IMAGE_PROBE = """<script>
window.addEventListener("load", function () {
  var seen = [];
  document.querySelectorAll("figure").forEach(function (f) {
    var img = f.querySelector("img"), box = img.getBoundingClientRect();
    if (img.complete && img.naturalWidth > 0 && box.width > 100) {
      seen.push(f.querySelector("figcaption").textContent);
    }
  });
  document.body.setAttribute("data-probe", seen.join("|"));
});
</script></body>"""


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(
    not shutil.which("chromium"),
    reason="chromium is not installed (apt-get install -y chromium); .ci/run installs it",
)
def test_headless_chromium_shows_importance_and_parallel_coordinates(tmp_path):
    from PIL import Image, ImageStat

    run = conditional_run(tmp_path / "run", n=40)
    write_report(run, fmt="html")
    page = run / "report" / "report.html"
    # Decoded and laid out in the browser: every plot, the new ones included.
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", IMAGE_PROBE), "utf-8"
    )
    proc = subprocess.run(
        [*CHROMIUM, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert match, f"no probe result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    shown = match.group(1).split("|")
    assert "Parameter importance (importance.png)" in shown
    assert "Parallel coordinates (parallel.png)" in shown
    assert "Accuracy against extra (param_extra.png)" in shown
    # A screenshot from the importance section down: the bars and the parallel plot.
    shots = Path(os.environ.get("HYPERASC_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "report-importance-parallel.png"
    proc = subprocess.run(
        [
            *CHROMIUM,
            f"--user-data-dir={tmp_path / 'p2'}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        shot.is_file()
    ), f"no screenshot (rc {proc.returncode}): {proc.stderr[-2000:]}"
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        stat = ImageStat.Stat(img.convert("L"))
    assert stat.var[0] > 100, f"screenshot looks blank (variance {stat.var[0]:.1f})"


def test_conditional_parameter_names_survive_columns_and_file_names(tmp_path):
    names = ["opt=sgd.lr", "opt=sgd|adam.lr", "opt=sgd/lr", 'a,"b"=c']
    trials = [
        make_trial(t, params={n: 0.1 * (t + 1) + i for i, n in enumerate(names)})
        for t in range(3)
    ]
    run = make_run(tmp_path / "run", trials, info=run_json(space=[]))
    written = write_report(run, fmt="all")
    columns, rows = read_csv(run / "report" / "trials.csv")
    assert columns[5:] == names
    assert [float(r['a,"b"=c']) for r in rows] == [3.1, 3.2, 3.3]
    pngs = sorted(p.name for p in written if p.name.startswith("param_"))
    assert len(set(pngs)) == len(names)
    assert all(re.fullmatch(r"param_[A-Za-z0-9_.-]+\.png", p) for p in pngs), pngs
    assert all(p.parent == run / "report" for p in written)
