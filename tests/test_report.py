"""Tests for `hyperasc.report` (issue 5): CSV, PNG plots and the self-contained HTML page."""

from __future__ import annotations

import base64
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hyperasc.report import plots
from hyperasc.report.run import read_run
from hyperasc.report import ReportError, write_report

from helpers import CHROMIUM, ROOT

SPACE = [
    {
        "name": "Dropout",
        "distribution": "uniform",
        "args": ["0", "1"],
        "options": None,
        "line": 20,
        "column": 30,
    },
    {
        "name": "lr",
        "distribution": "loguniform",
        "args": ["-9", "-2"],
        "options": None,
        "line": 25,
        "column": 22,
    },
    {
        "name": "optimizer",
        "distribution": "choice",
        "args": [],
        "options": ["'adam'", "'sgd'", "'rmsprop'"],
        "line": 27,
        "column": 40,
    },
    {
        "name": "units",
        "distribution": "choice",
        "args": [],
        "options": ["64", "128"],
        "line": 18,
        "column": 25,
    },
]


def run_json(space: list[dict] | None = None, **extra: object) -> dict:
    info = {
        "hyperasc_version": "0.1.0",
        "script": {"path": "tune.py", "sha256": "ab" * 32},
        "model": {"path": "examples/digits_mlp.py", "sha256": "cd" * 32},
        "argv": ["tune.py", "--max-evals", "8"],
        "started": "2026-11-28T14:03:10.001Z",
        "seed": 0,
        "algo": "tpe",
        "max_evals": 8,
        "backend": "local",
        "versions": {"python": "3.11.7", "hyperopt": "0.3.0", "keras": "3.15.1"},
        "devices": ["CPU"],
        "space": SPACE if space is None else space,
    }
    info.update(extra)
    return info


def _stamp(seconds: float) -> str:
    """2026-11-28T14:03:00Z plus `seconds` (any number of them), as the runtime writes it."""
    minutes, rest = divmod(3 * 60 + seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"2026-11-28T{14 + hours:02d}:{minutes:02d}:{rest:06.3f}Z"


def make_trial(
    tid: int,
    *,
    ok: bool = True,
    loss: float | None = None,
    params: dict | None = None,
    epochs: int = 3,
    fits: int = 1,
) -> dict:
    """One trials.jsonl record in the documented format; varied but deterministic values."""
    start = 11.0 + 4 * tid
    duration = 1.5 + (tid % 3) * 0.75
    if params is None:
        params = {
            "Dropout": round(0.05 + 0.11 * tid % 0.9, 4),
            "lr": 10 ** (-4 + (tid % 4) * 0.5),
            "optimizer": ["adam", "sgd", "rmsprop"][tid % 3],
            "units": [64, 128][tid % 2],
        }
    if loss is None and ok:
        loss = round(0.5 / (1 + 0.3 * tid) + 0.05 * ((tid * 7) % 3), 6)
    history = []
    if ok:
        history = [
            {
                "loss": [1.0 / (e + 1 + f) + tid * 0.01 for e in range(epochs)],
                "val_loss": [1.1 / (e + 1 + f) + tid * 0.01 for e in range(epochs)],
                "accuracy": [0.5 + 0.1 * e for e in range(epochs)],
            }
            for f in range(fits)
        ]
    return {
        "tid": tid,
        "status": "ok" if ok else "fail",
        "loss": loss if ok else None,
        "params": params,
        "start": _stamp(start),
        "end": _stamp(start + duration),
        "duration": duration,
        "error": (
            None
            if ok
            else (
                "Traceback (most recent call last):\n"
                f'  File "tune.py", line 9\nValueError: bad trial {tid}'
            )
        ),
        "history": history,
    }


def make_run(
    root: Path, trials: list[dict], *, info: dict | None = None, tail: str = ""
) -> Path:
    """A run directory as a generated tune.py writes it (docs/run-directory.md); `tail` is appended raw."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "run.json").write_text(
        json.dumps(run_json() if info is None else info, indent=2)
    )
    with (root / "trials.jsonl").open("w") as f:
        for t in trials:
            f.write(json.dumps(t) + "\n")
        f.write(tail)
    ok = [t for t in trials if t["status"] == "ok"]
    if ok:
        best = min(ok, key=lambda t: t["loss"])
        best_json = {"tid": best["tid"], "loss": best["loss"], "params": best["params"]}
        (root / "best.json").write_text(json.dumps(best_json))
    return root


def standard_trials() -> list[dict]:
    return [make_trial(t, ok=t not in (2, 5), fits=1 + (t == 3)) for t in range(8)]


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def assert_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as img:
        img.verify()
    with Image.open(
        path
    ) as img:  # verify() leaves the image unusable; reopen for its size
        assert img.format == "PNG"
        w, h = img.size
    assert 300 <= w <= 4000 and 200 <= h <= 4000, (path.name, img.size)


def assert_self_contained(page: PageParser) -> None:
    for tag, attrs in page.tags:
        assert not (tag == "script" and attrs.get("src")), attrs
        assert tag != "link", attrs
        for name in ("src", "href", "srcset", "action", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


# --------------------------------------------------------------------------- the full report


@pytest.fixture(scope="module")
def full_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[dict], list[Path]]:
    # Rendering is the slow part; share one report among the tests that only read it.
    trials = standard_trials()
    run = make_run(tmp_path_factory.mktemp("full") / "run", trials)
    return run, trials, write_report(run)


def test_default_report_dir_and_files(full_report):
    run, _, written = full_report
    assert all(p.parent == run / "report" for p in written)
    names = [p.name for p in written]
    assert names == [
        "trials.csv",
        "loss.png",
        "parallel.png",
        "param_Dropout.png",
        "param_lr.png",
        "param_optimizer.png",
        "param_units.png",
        "duration.png",
        "learning_curves.png",
        "report.html",
    ]
    assert all(p.is_file() for p in written)
    assert not [
        p for p in (run / "report").iterdir() if p.name.startswith(".")
    ], "temp files left behind"


def test_csv_matches_trials_jsonl(full_report):
    run, trials, _ = full_report
    columns, rows = read_csv(run / "report" / "trials.csv")
    assert columns == [
        "tid",
        "status",
        "loss",
        "duration",
        "error",
        "Dropout",
        "lr",
        "optimizer",
        "units",
    ]
    assert len(rows) == len(trials)
    for row, t in zip(rows, trials):
        assert int(row["tid"]) == t["tid"]
        assert row["status"] == t["status"]
        assert (
            (row["loss"] == "")
            if t["loss"] is None
            else (float(row["loss"]) == t["loss"])
        )
        assert float(row["duration"]) == t["duration"]
        assert row["error"] == (t["error"] or "")
        assert float(row["Dropout"]) == t["params"]["Dropout"]
        assert float(row["lr"]) == t["params"]["lr"]
        assert row["optimizer"] == t["params"]["optimizer"]
        assert int(row["units"]) == t["params"]["units"]


def test_csv_loads_with_pandas(full_report):
    pd = pytest.importorskip(
        "pandas",
        reason="pandas is not a dependency; this checks the CSV where it exists",
    )
    run, trials, _ = full_report
    df = pd.read_csv(run / "report" / "trials.csv")
    assert list(df.columns[:5]) == ["tid", "status", "loss", "duration", "error"]
    assert len(df) == len(trials)
    assert df["loss"].isna().sum() == sum(t["status"] == "fail" for t in trials)
    assert df["error"].dropna().str.contains("ValueError").all()


def test_every_png_is_a_valid_image(full_report):
    _, _, written = full_report
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) == 8
    for p in pngs:
        assert_png(p)


def test_html_is_self_contained_and_embeds_every_plot(full_report):
    run, trials, written = full_report
    html_path = run / "report" / "report.html"
    page = parse_html(html_path)
    assert_self_contained(page)
    sources = {attrs.get("src") for tag, attrs in page.tags if tag == "img"}
    for png in (p for p in written if p.suffix == ".png"):
        assert (
            f"data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}"
            in sources
        ), png.name
    # Inline script only, and the trials table has a row per trial.
    assert any(tag == "script" for tag, _ in page.tags)
    rows = [attrs for tag, attrs in page.tags if tag == "tr"]
    assert len(rows) >= len(trials) + 1
    text = "".join(page.text)
    assert "ValueError: bad trial 2" in text and "ValueError: bad trial 5" in text
    assert (
        "examples/digits_mlp.py" in text and "tpe" in text and "keras" in text
    )  # provenance
    best = min((t for t in trials if t["status"] == "ok"), key=lambda t: t["loss"])
    assert f"Trial {best['tid']}, loss {best['loss']:.6g}" in " ".join(text.split())


def test_log_axis_and_choice_categories(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"")
    run = read_run(make_run(tmp_path / "run", standard_trials()))
    mpl = plots._matplotlib()
    by_name = {}
    for name in run.param_names:
        plots.plot_param(run, name, f"{name}.png", mpl)
        by_name[name] = figures[-1].axes[0]
    assert by_name["lr"].get_xscale() == "log"
    assert by_name["Dropout"].get_xscale() == "linear"
    labels = [t.get_text() for t in by_name["optimizer"].get_xticklabels()]
    assert labels == [
        "adam",
        "sgd",
        "rmsprop",
    ]  # declared order, real values not indices
    assert [t.get_text() for t in by_name["units"].get_xticklabels()] == ["64", "128"]


# --------------------------------------------------------------------------- awkward runs


def test_empty_run(tmp_path):
    run = make_run(tmp_path / "run", [])
    written = write_report(run)
    assert {p.name for p in written} >= {
        "trials.csv",
        "loss.png",
        "duration.png",
        "report.html",
    }
    assert "learning_curves.png" not in {p.name for p in written}
    columns, rows = read_csv(run / "report" / "trials.csv")
    assert columns == [
        "tid",
        "status",
        "loss",
        "duration",
        "error",
        "Dropout",
        "lr",
        "optimizer",
        "units",
    ]
    assert rows == []
    for p in written:
        if p.suffix == ".png":
            assert_png(p)
    text = "".join(parse_html(run / "report" / "report.html").text)
    assert "No successful trial yet" in text


def test_run_without_trials_file(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(run_json()))
    assert (tmp_path / "out" / "trials.csv") in write_report(
        run, tmp_path / "out", fmt="csv"
    )


def test_partial_run_with_truncated_last_line(tmp_path):
    trials = standard_trials()[:4]
    half = json.dumps(make_trial(4))[:57]
    run = make_run(tmp_path / "run", trials, tail=half)
    written = write_report(run, tmp_path / "rep")
    _, rows = read_csv(tmp_path / "rep" / "trials.csv")
    assert [int(r["tid"]) for r in rows] == [0, 1, 2, 3]
    for p in written:
        if p.suffix == ".png":
            assert_png(p)
    text = "".join(parse_html(tmp_path / "rep" / "report.html").text)
    assert "skipped 1 line" in text


def test_all_failed_run(tmp_path):
    trials = [make_trial(t, ok=False) for t in range(3)]
    run = make_run(tmp_path / "run", trials)
    written = write_report(run)
    names = {p.name for p in written}
    assert "learning_curves.png" not in names
    _, rows = read_csv(run / "report" / "trials.csv")
    assert [r["status"] for r in rows] == ["fail"] * 3
    assert all(r["loss"] == "" and "ValueError" in r["error"] for r in rows)
    for p in written:
        if p.suffix == ".png":
            assert_png(p)
    page = parse_html(run / "report" / "report.html")
    assert_self_contained(page)
    text = "".join(page.text)
    assert "No successful trial yet" in text and "ValueError: bad trial 1" in text


def test_conditional_params_and_unknown_space(tmp_path):
    # No run.json space entry for "layers"; a parameter absent from some trials; a parameter called "loss".
    trials = [
        make_trial(0, params={"Dropout": 0.1, "layers": "two", "loss": "mse"}),
        make_trial(1, params={"Dropout": 0.2, "loss": "mae"}),
        make_trial(2, params={"Dropout": 0.3, "layers": "three", "loss": "mse"}),
    ]
    space = [
        SPACE[0],
        {
            "name": "loss",
            "distribution": "choice",
            "args": [],
            "options": ["'mse'", "'mae'"],
            "line": 30,
            "column": 20,
        },
    ]
    run = make_run(tmp_path / "run", trials, info=run_json(space))
    write_report(run)
    columns, rows = read_csv(run / "report" / "trials.csv")
    assert columns == [
        "tid",
        "status",
        "loss",
        "duration",
        "error",
        "Dropout",
        "param_loss",
        "layers",
    ]
    assert [r["layers"] for r in rows] == ["two", "", "three"]
    assert [r["param_loss"] for r in rows] == ["mse", "mae", "mse"]
    assert [float(r["loss"]) for r in rows] == [t["loss"] for t in trials]


def test_formats(tmp_path):
    run = make_run(tmp_path / "run", standard_trials()[:3])
    assert [p.name for p in write_report(run, tmp_path / "csv", fmt="csv")] == [
        "trials.csv"
    ]
    pngs = write_report(run, tmp_path / "png", fmt="png")
    assert pngs and all(p.suffix == ".png" for p in pngs)
    assert [p.name for p in write_report(run, tmp_path / "html", fmt="html")] == [
        "report.html"
    ]
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == ["report.html"]
    with pytest.raises(ReportError, match="unknown format"):
        write_report(run, fmt="pdf")


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", standard_trials()[:2])
    for name in [
        m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(
        sys.modules, "matplotlib", None
    )  # makes `import matplotlib` fail
    with pytest.raises(ReportError, match=r"pip install 'hyperasc\[report\]'"):
        write_report(run, tmp_path / "out")
    assert not (
        tmp_path / "out"
    ).exists(), "nothing is written when plots cannot be made"
    # The CSV alone needs no matplotlib.
    assert [p.name for p in write_report(run, tmp_path / "out", fmt="csv")] == [
        "trials.csv"
    ]


@pytest.mark.parametrize("kind", ["missing", "file", "not-a-run"])
def test_not_a_run_directory(tmp_path, kind):
    target = tmp_path / "x"
    if kind == "file":
        target.write_text("hi")
    elif kind == "not-a-run":
        target.mkdir()
    with pytest.raises(ReportError):
        write_report(target)


def test_import_is_light():
    code = "import sys, hyperasc.report; sys.exit(bool({'matplotlib', 'jinja2', 'pandas'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# --------------------------------------------------------------------------- browser


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium); .ci/run installs it",
)
def test_headless_chromium_screenshot(full_report, tmp_path):
    from PIL import Image, ImageStat

    run, _, _ = full_report
    shot = tmp_path / "shot.png"
    cmd = [
        *CHROMIUM,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        (run / "report" / "report.html").resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert (
        shot.is_file()
    ), f"no screenshot (rc {proc.returncode}): {proc.stderr[-2000:]}"
    assert_png(shot)
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        stat = ImageStat.Stat(img.convert("L"))
    assert stat.var[0] > 100, f"screenshot looks blank (variance {stat.var[0]:.1f})"


SORT_PROBE = """<script>
function order() {
  var rows = document.querySelectorAll("#trials tbody tr");
  return Array.prototype.map.call(rows, function (r) { return r.cells[0].textContent; }).join(",");
}
var th = document.querySelectorAll("#trials th")[2];
th.click(); var up = order(); th.click(); var down = order();
document.body.setAttribute("data-probe", up + "|" + down);
</script></body>"""


@pytest.mark.slow  # starts a browser
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium is not installed (apt-get install -y chromium); .ci/run installs it",
)
def test_headless_chromium_sorts_the_table(full_report, tmp_path):
    # Click the loss heading twice in a copy of the page and read the row order back from the DOM.
    run, trials, _ = full_report
    probe = tmp_path / "probe.html"
    probe.write_text(
        (run / "report" / "report.html")
        .read_text(encoding="utf-8")
        .replace("</body>", SORT_PROBE),
        encoding="utf-8",
    )
    cmd = [
        *CHROMIUM,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        probe.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert match, f"no probe result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    ok = sorted((t for t in trials if t["status"] == "ok"), key=lambda t: t["loss"])
    failed = [
        str(t["tid"]) for t in trials if t["status"] != "ok"
    ]  # no loss: last either way
    up = [str(t["tid"]) for t in ok] + failed
    down = [str(t["tid"]) for t in reversed(ok)] + failed
    assert match.group(1) == ",".join(up) + "|" + ",".join(down)


# --------------------------------------------------------------------------- real search


def hyperasc_command() -> list[str]:
    """The installed `hyperasc` command, else the package run as a module: a broken CLI fails the test."""
    exe = shutil.which("hyperasc")
    return [exe] if exe else [sys.executable, "-m", "hyperasc"]


@pytest.mark.slow
def test_report_of_a_real_search(tmp_path):
    example = ROOT / "examples" / "digits_mlp.py"
    cli = hyperasc_command()
    pytest.importorskip("hyperopt")
    pytest.importorskip("keras")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    tune = tmp_path / "tune.py"
    subprocess.run(
        [*cli, "compile", str(example), "-o", str(tune)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(tune), "--max-evals", "3", "--out", str(out), "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]

    written = write_report(out)
    lines = [
        json.loads(line)
        for line in (out / "trials.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert len(lines) == 3
    columns, rows = read_csv(out / "report" / "trials.csv")
    params = [s["name"] for s in json.loads((out / "run.json").read_text())["space"]]
    # The example returns {"loss": -accuracy}: the metric gets a column after the loss.
    assert columns[:6] == ["tid", "status", "loss", "accuracy", "duration", "error"]
    assert set(params) <= set(columns)
    assert [int(r["tid"]) for r in rows] == [t["tid"] for t in lines]
    for row, t in zip(rows, lines):
        assert row["status"] == t["status"]
        if t["status"] == "ok":
            assert math.isclose(float(row["loss"]), t["loss"])
            assert math.isclose(float(row["accuracy"]), -t["loss"])
    pngs = [p for p in written if p.suffix == ".png"]
    for p in pngs:
        assert_png(p)
    if any(t["status"] == "ok" and t["history"] for t in lines):
        assert "learning_curves.png" in {p.name for p in pngs}
    page = parse_html(out / "report" / "report.html")
    assert_self_contained(page)
    sources = {attrs.get("src") for tag, attrs in page.tags if tag == "img"}
    assert len(
        [s for s in sources if s and s.startswith("data:image/png;base64,")]
    ) == len(pngs)


def pruned_trial(tid: int, epochs: int) -> dict:
    """A trials.jsonl record of a trial --prune stopped after `epochs` epochs."""
    record = make_trial(tid, epochs=epochs)
    record.update(
        {
            "status": "pruned",
            "loss": None,
            "pruned": True,
            "epochs": epochs,
            "curve": record["history"][0]["val_loss"],
            "prune_metric": "val_loss",
        }
    )
    return record


def test_pruned_trials_are_counted_drawn_apart_and_their_saved_epochs_reported(
    tmp_path,
):
    trials = [make_trial(t, epochs=10) for t in range(5)] + [
        pruned_trial(5, 1),
        pruned_trial(6, 3),
    ]
    run_dir = make_run(tmp_path / "run", trials)
    run = read_run(run_dir)
    assert [t.tid for t in run.trials if t.pruned] == [5, 6]
    assert plots.epochs_saved(run) == (2, (10 - 1) + (10 - 3))
    write_report(run_dir, fmt="all")
    html = (run_dir / "report" / "report.html").read_text()
    assert "5 ok, 2 pruned, 0 failed." in html
    assert "Pruning saved about 16 epochs" in html
    assert html.count('<tr class="pruned">') == 2
    # The learning curves differ from a run without the pruned trials: they are drawn.
    without = make_run(tmp_path / "plain", trials[:5])
    write_report(without, fmt="png")
    assert (run_dir / "report" / "learning_curves.png").read_bytes() != (
        without / "report" / "learning_curves.png"
    ).read_bytes()


def test_a_run_without_pruning_reports_no_saved_epochs(tmp_path):
    run = read_run(make_run(tmp_path / "run", standard_trials()))
    assert plots.epochs_saved(run) is None
