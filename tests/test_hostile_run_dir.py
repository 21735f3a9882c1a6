"""Issue 17 item 9: a downloaded (hostile) run directory. `hyperasc report` and
`--resume` never execute anything from it, never write outside their place,
never crash. Extends tests/test_run_safety.py (pickle on resume, a planted
report link, a linked trials.jsonl on resume) to the report's side and to
crafted names."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from helpers import QUICK_MODEL, compile_text, invoke, run_script
from test_report import make_run, make_trial, run_json

SHELL = "$(touch {marker}); `touch {marker}`; touch {marker} #"
NAMES = [
    SHELL,
    "<script>alert(1)</script>",
    "$\\frac{$",
    "../../escape",
    "/etc/passwd",
    "a\nb\r\nc",
    "{{ 7*7 }}{% raw %}",
]


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file under root (links as their target), to show nothing else changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            if path.is_symlink():
                out[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                out[str(path)] = path.read_bytes()
    return out


def hostile_run(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    names = [n.replace("{marker}", str(marker)) for n in NAMES]
    space = [{"name": n, "distribution": "choice", "values": names} for n in names]
    trials = [
        make_trial(
            tid, params={n: names[(tid + i) % len(names)] for i, n in enumerate(names)}
        )
        for tid in range(6)
    ]
    trials[2]["status"], trials[2]["loss"] = "fail", None
    trials[2]["error"] = names[0] + "\n" + names[1]
    info = run_json(space=space, model={"path": names[1], "sha256": names[0]})
    info["argv"] = [names[0], names[1]]
    run = make_run(tmp_path / "run", trials, info=info)
    with (run / "trials.jsonl").open("a") as f:
        f.write(json.dumps(dict(make_trial(9), tid=names[0])) + "\n")
        f.write(json.dumps(dict(make_trial(8), tid="<b>8</b>")) + "\n")

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (run / "checkpoint").write_bytes(pickle.dumps(Exploit()))
    (run / "best.json").write_bytes(pickle.dumps(Exploit()))
    return run, marker


def test_report_of_a_hostile_run_executes_and_escapes_nothing(tmp_path):
    run, marker = hostile_run(tmp_path)
    before = snapshot(tmp_path)
    result = invoke(["report", str(run)])
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    # Only the report folder is new.
    after = snapshot(tmp_path)
    assert {
        k: v for k, v in after.items() if not k.startswith(str(run / "report"))
    } == before
    # One line names the page to open (issue 18).
    assert result.stdout.splitlines() == [f"open {run / 'report' / 'report.html'}"]
    html = (run / "report" / "report.html").read_text()
    assert "<script>alert" not in html and "<b>8</b>" not in html
    assert html.count("<script>") == 1  # the page's own
    assert "{{ 7*7 }}" in html  # shown as written, not evaluated
    notes = [n for n in result.stderr.splitlines() if n.startswith("note: ")]
    assert sum("tid is not a trial id" in n for n in notes) == 2


@pytest.mark.parametrize("name", ["run.json", "trials.jsonl"])
def test_a_run_file_that_is_a_link_is_not_read(tmp_path, name):
    run = make_run(tmp_path / "run", [make_trial(t) for t in range(3)])
    secret = tmp_path / "secret.json"
    secret.write_text(
        json.dumps(
            {"tid": 7, "status": "ok", "loss": 0.1, "params": {"token": "s3cr3t"}}
        )
        + "\n"
    )
    (run / name).unlink()
    (run / name).symlink_to(secret)
    result = invoke(["report", str(run), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"note: {name} is a symbolic link; not followed, not read" in result.stderr
    assert "s3cr3t" not in (tmp_path / "out" / "report.html").read_text()


def test_links_to_a_fifo_or_a_device_do_not_hang(tmp_path):
    run = make_run(tmp_path / "run", [make_trial(0)])
    (run / "trials.jsonl").unlink()
    (run / "trials.jsonl").symlink_to("/dev/zero")
    result = invoke(
        ["report", str(run), "-o", str(tmp_path / "out"), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    (run / "trials.jsonl").unlink()
    os.mkfifo(run / "trials.jsonl")  # opening it for reading would wait for a writer
    result = invoke(
        ["report", str(run), "-o", str(tmp_path / "out"), "--format", "csv"]
    )
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_report_files_planted_as_links_are_replaced_not_followed(tmp_path):
    run = make_run(tmp_path / "run", [make_trial(t) for t in range(4)])
    victims = {}
    (run / "report").mkdir()
    for name in ("report.html", "loss.png", "trials.csv", "duration.png"):
        victim = tmp_path / f"victim-{name}"
        victim.write_text("the user's file\n")
        (run / "report" / name).symlink_to(victim)
        victims[name] = victim
    result = invoke(["report", str(run)])
    assert result.exit_code == 0, result.output
    for name, victim in victims.items():
        assert victim.read_text() == "the user's file\n"
        assert not (run / "report" / name).is_symlink()


def test_kept_model_links_are_listed_not_opened(tmp_path):
    run = make_run(tmp_path / "run", [make_trial(t) for t in range(3)])
    (run / "models").mkdir()
    (run / "models" / "trial-1.keras").symlink_to("/dev/zero")
    (run / "models" / f"trial-{'9' * 200}.keras").write_text("x")
    result = invoke(["report", str(run), "--format", "html"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_resume_of_a_run_with_crafted_names_executes_nothing(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(compile_text(QUICK_MODEL))
    out = tmp_path / "run"
    assert run_script(script, out, "--max-evals", "2", "--seed", "1").returncode == 0
    marker = tmp_path / "pwned"
    shell = SHELL.replace("{marker}", str(marker))
    info = json.loads((out / "run.json").read_text())
    for entry in info["space"]:
        entry["name"] = shell
    info["argv"] = [shell]
    (out / "run.json").write_text(json.dumps(info))
    with (out / "trials.jsonl").open("a") as f:
        f.write(
            json.dumps(
                {"tid": shell, "status": "ok", "loss": 0.0, "params": {shell: 1}}
            )
            + "\n"
        )
    shutil.copy(out / "trials.jsonl", tmp_path / "before.jsonl")
    before = snapshot(tmp_path)
    result = run_script(script, out, "--max-evals", "4", "--seed", "1", "--resume")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert not marker.exists()
    changed = {k for k, v in snapshot(tmp_path).items() if before.get(k) != v}
    assert all(k.startswith(str(out)) for k in changed), changed
    report = invoke(["report", str(out)])
    assert report.exit_code == 0, report.output
    assert not marker.exists()
