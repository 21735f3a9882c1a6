"""Issue 17 item 8: `hyperasc report` on damaged and hostile values.

Every field of a trials.jsonl record, replaced by each wrong type in turn, is
left out with one note naming its line and field; never a traceback. Labels
are never read as matplotlib mathtext; the page escapes every text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperasc.report import plots, write_report
from hyperasc.report.render import render_csv, render_html
from hyperasc.report.run import read_run

from helpers import invoke
from test_report import make_run, make_trial, run_json

HUGE = 10**400  # a 400-digit loss: float() of it overflows
BAD_VALUES = {
    "list": [1, 2],
    "dict": {"a": 1},
    "str": "x",
    "none": None,
    "huge": HUGE,
    "nan": math.nan,
    "inf": math.inf,
    "negative": -1,
    "bool": True,
}
FIELDS = (
    "tid",
    "status",
    "loss",
    "duration",
    "error",
    "params",
    "start",
    "end",
    "history",
    "epochs",
    "log",
)
# (field, kind) pairs that are not damage: a missing value, a negative loss, an unknown status.
VALID = {
    ("loss", "none"),
    ("loss", "negative"),
    ("duration", "none"),
    ("error", "none"),
    ("error", "str"),
    ("params", "none"),
    ("params", "dict"),
    ("start", "none"),
    ("end", "none"),
    ("history", "none"),
    ("epochs", "none"),
    ("log", "none"),
    ("status", "str"),
}
# A damaged tid or status: the record cannot be placed, so it is skipped whole.
WHOLE = {"tid", "status"}


def damaged_lines() -> list[tuple[str, str, dict]]:
    out = []
    for field in FIELDS:
        for kind, value in BAD_VALUES.items():
            record = make_trial(len(out) % 10)  # start second 11 + 4 * tid: below 60
            record["tid"] = 100 + len(out)
            record[field] = value
            out.append((field, kind, record))
    return out


def write_lines(root: Path, records: list[dict], info: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "run.json").write_text(json.dumps(run_json() if info is None else info))
    # json.dumps writes NaN/Infinity, which Python's json reads back, as a damaged file might hold.
    (root / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def test_each_damaged_field_is_left_out_with_one_note(tmp_path):
    good = [make_trial(tid) for tid in range(4)]
    damaged = damaged_lines()
    root = write_lines(tmp_path / "run", good + [r for _, _, r in damaged])
    run = read_run(root)
    for n, (field, kind, _) in enumerate(damaged):
        line = len(good) + n + 1
        mine = [
            note for note in run.notes if note.startswith(f"trials.jsonl line {line}: ")
        ]
        if (field, kind) in VALID:
            assert mine == [], (field, kind, mine)
        else:
            assert len(mine) == 1, (field, kind, mine)
            assert f": {field} " in mine[0], (field, kind, mine)
            assert mine[0].endswith("skipped" if field in WHOLE else "left out")
    tids = [t.tid for t in run.trials]
    assert len(tids) == len(set(tids))
    skipped_whole = sum(f in WHOLE and (f, k) not in VALID for f, k, _ in damaged)
    assert len(run.trials) == len(good) + len(damaged) - skipped_whole
    for t in run.trials:  # only well-typed values are left
        assert isinstance(t.tid, int) and isinstance(t.status, str)
        assert t.loss is None or math.isfinite(t.loss)
        assert t.duration is None or (math.isfinite(t.duration) and t.duration >= 0)
        assert t.epochs is None or (isinstance(t.epochs, int) and t.epochs >= 0)
        assert t.error is None or isinstance(t.error, str)
        assert isinstance(t.params, dict)


def test_the_cli_reports_a_damaged_run_with_notes_on_stderr(tmp_path):
    damaged = damaged_lines()
    info = run_json(
        space=[
            {"name": "Dropout", "distribution": ["uniform"], "args": ["0", "1"]},
            {"name": "units", "distribution": "choice", "options": 5},
            "not a parameter",
        ],
        started="2026-11-28T14:03:10",  # naive, while the trials' are UTC
    )
    trials = [make_trial(tid) for tid in range(5)] + [r for _, _, r in damaged]
    trials[2]["start"] = "2026-11-28T14:03:30"  # naive too: mixed time zones
    trials[3]["loss"] = HUGE
    trials[4]["epochs"] = math.nan
    root = write_lines(tmp_path / "run", trials, info)
    with (root / "trials.jsonl").open("a") as f:
        f.write('{"tid": 900, "status": "ok", "loss": 1e999}\n')  # inf from JSON text
        f.write("[" * 100000 + "\n")  # nested too deep for json
        f.write('{"tid": 3, "status": "ok", "loss": 0.5}\n')  # tid 3 again
        f.write('{"tid": 901, "status": "ok", "loss"')  # a half-written last line
    result = invoke(["report", str(root), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    for expected in (
        "run.json: space entry 1: distribution of 'Dropout' is not a string; left out",
        "run.json: space entry 2: options of 'units' is not a list; left out",
        "run.json: space entry 3: not a parameter with a name; skipped",
        "run.json: started has no time zone, unlike others; left out",
        "trial 2: start has no time zone, unlike others; left out",
        "trials.jsonl line 4: loss is not a finite number; left out",
        "trials.jsonl line 5: epochs is not a count of epochs; left out",
        "loss is not a finite number; left out",
        "tid 3 was already read; skipped",
        "skipped 2 line(s) of trials.jsonl that did not parse",
    ):
        assert sum(expected in n for n in notes) >= 1, (expected, notes)
    assert len(notes) == len(set(notes))  # one note each
    html = (tmp_path / "out" / "report.html").read_text()
    assert "tid 3 was already read" in html


def test_notes_past_the_limit_are_counted_in_one(tmp_path):
    trials = [dict(make_trial(0), tid=tid, duration="slow") for tid in range(250)]
    run = read_run(write_lines(tmp_path / "run", trials))
    assert len(run.notes) == 101
    assert run.notes[-1] == "150 more damaged value(s) left out, not listed"


HOSTILE = [
    "$x^2$",
    "$\\frac{$",  # not even valid mathtext
    "a$b$c$",
    "<script>alert(1)</script>",
    "line\nbreak",
    "x" * 5000,
    "\\usepackage{evil}",
    "&amp; \"quoted\" 'single'",
]


def test_labels_are_plain_text_and_the_page_escapes_them(tmp_path):
    space = [
        {"name": "act", "distribution": "choice", "values": HOSTILE},
        {"name": "$\\sqrt{$<b>", "distribution": "uniform", "args": ["0", "1"]},
    ]
    trials = [
        make_trial(
            tid,
            params={"act": HOSTILE[tid % len(HOSTILE)], "$\\sqrt{$<b>": tid / 20},
        )
        for tid in range(16)
    ]
    trials[3]["status"] = "fail"
    trials[3]["loss"] = None
    trials[3]["error"] = "<script>alert('x')</script>\n$\\frac{$"
    root = make_run(tmp_path / "run", trials, info=run_json(space=space))
    written = write_report(root, tmp_path / "out")
    assert all(p.parent == tmp_path / "out" for p in written)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the page's own sorting script


def test_no_text_is_parsed_as_mathtext(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"")
    # Drawing happens at save time: keep it inside the plain-text context too.
    monkeypatch.setattr(
        plots, "_png", lambda fig: figures.append(fig) or fig.canvas.draw() or b""
    )
    from matplotlib.text import Text

    trials = [
        make_trial(tid, params={"$a$": HOSTILE[tid % 3], "$b$": tid})
        for tid in range(6)
    ]
    run = read_run(make_run(tmp_path / "run", trials, info=run_json(space=[])))
    mpl = plots._matplotlib()
    plots.plot_loss(run, mpl)
    for name in ("$a$", "$b$"):
        plots.plot_param(run, name, "p.png", mpl)
    plots.plot_learning_curves(run, mpl)
    texts = [t for fig in figures for t in fig.findobj(Text) if "$" in t.get_text()]
    assert texts, "the hostile labels were drawn"
    assert not any(t.get_parse_math() for t in texts)


def test_a_huge_tid_or_param_value_does_not_reach_the_axes(tmp_path):
    trials = [make_trial(tid) for tid in range(5)]
    trials[1]["tid"] = 2**80
    trials[2]["params"]["lr"] = HUGE
    trials[3]["params"]["Dropout"] = math.inf
    trials[4]["params"]["units"] = math.nan
    root = write_lines(tmp_path / "run", trials)
    result = invoke(["report", str(root), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "trials.jsonl line 2: tid is not a trial id" in result.stderr


def test_a_very_long_parameter_name_gets_a_short_file_name(tmp_path):
    name = "p" * 400
    trials = [make_trial(tid, params={name: tid}) for tid in range(3)]
    root = make_run(tmp_path / "run", trials, info=run_json(space=[]))
    written = write_report(root, tmp_path / "out", "png")
    assert max(len(p.name) for p in written) < 120


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([HUGE, -HUGE, 2**64])
    | st.floats()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def damaged_record(draw):
    record = make_trial(draw(st.integers(0, 10)))
    for field in draw(st.lists(st.sampled_from(FIELDS + ("space",)), max_size=4)):
        record[field] = draw(JSON)
    return record


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=st.lists(damaged_record(), max_size=6), space=JSON)
def test_any_damage_reads_and_renders(tmp_path_factory, records, space):
    root = tmp_path_factory.mktemp("run")
    write_lines(root, records, run_json(space=space, max_evals=space))
    run = read_run(root)
    render_csv(run)
    render_html(run, [])
    assert len({t.tid for t in run.trials}) == len(run.trials)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=st.lists(damaged_record(), min_size=1, max_size=6), space=JSON)
def test_any_damage_plots(tmp_path_factory, records, space):
    root = tmp_path_factory.mktemp("run")
    write_lines(root, records, run_json(space=space))
    write_report(root, root / "report")


SPACE_FIELDS = ("parent", "active", "nested", "values", "distribution")


@st.composite
def damaged_space(draw):
    """The space of tests/test_report_shows.py, its new fields (issue 18) damaged at random."""
    from test_report_shows import SPACE

    space = json.loads(json.dumps(SPACE))
    names = [e["name"] for e in space] + ["nope"]
    for entry in draw(st.lists(st.sampled_from(space), max_size=4)):
        field = draw(st.sampled_from(SPACE_FIELDS))
        entry[field] = draw(
            JSON
            | st.sampled_from(names)  # a parent that is itself, or a cycle
            | st.lists(st.integers(-3, 5), max_size=3)
            | st.dictionaries(
                st.sampled_from(["0", "1", "7", "²", "-1"]),
                st.sampled_from(names),
                max_size=2,
            )
        )
    return space


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(space=damaged_space(), objective=JSON, log=JSON, seed=st.integers(0, 3))
def test_damaged_conditional_fields_read_and_render(
    tmp_path_factory, space, objective, log, seed
):
    from test_report_shows import conditional_trials

    records = conditional_trials(10, seed=seed, listed_inactive=seed % 2 == 1)
    records[0]["log"] = log
    root = tmp_path_factory.mktemp("run")
    write_lines(root, records, run_json(space=space, objective=objective))
    run = read_run(root)
    render_csv(run)
    render_html(run, [])
    for name in run.param_names:  # the plots' columns of every parameter
        from hyperasc.report.columns import column

        column(run, name, run.trials)


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(space=damaged_space(), objective=JSON, seed=st.integers(0, 3))
def test_damaged_conditional_fields_plot(tmp_path_factory, space, objective, seed):
    from test_report_shows import conditional_trials

    records = conditional_trials(12, seed=seed, listed_inactive=seed % 2 == 1)
    root = tmp_path_factory.mktemp("run")
    write_lines(root, records, run_json(space=space, objective=objective))
    write_report(root, root / "report")
