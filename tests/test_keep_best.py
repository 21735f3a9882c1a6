"""--keep-best K: the models of the K best trials, kept in the run directory (issue 10)."""

from __future__ import annotations

import json
import math

import pytest

from helpers import compile_text, invoke, run_script
from hyperasc.runtime.run_directory import RunDirectory
from hyperasc.runtime.run_files import kept_model_name, kept_models

TINY_KERAS = """
import numpy as np
import keras


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x.sum(axis=1) > 0).astype("float32")


def model(x, y):
    net = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense({{choice([1, 2, 4, 8])}}),
                            keras.layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer=keras.optimizers.SGD({{uniform(0.001, 0.5)}}), loss="binary_crossentropy")
    net.fit(x, y, epochs=2, verbose=0)
    return {"loss": float(net.evaluate(x, y, verbose=0)), "status": "ok", "model": net}
"""


class Saved:
    """Stands for a Keras model: save() writes its name to the path."""

    def __init__(self, name):
        self.name = name

    def save(self, path):
        with open(path, "w") as f:
            f.write(self.name)


def test_keep_only_keeps_the_k_best_and_sets_the_bar(tmp_path):
    run = RunDirectory(str(tmp_path), keep_best=2)
    assert run.keep_threshold == math.inf  # fewer than K trials: every model may enter
    for tid in (0, 1, 2):
        run.keep_model(Saved(f"m{tid}"), tid)
    run.keep_only([(0.1, 2), (0.5, 0), (0.9, 1)], made=[0, 1, 2])
    assert sorted(kept_models(str(tmp_path))) == [0, 2]
    assert run.keep_threshold == 0.5
    assert (tmp_path / kept_model_name(2)).read_text() == "m2"


def test_without_keep_best_nothing_is_kept(tmp_path):
    run = RunDirectory(str(tmp_path))
    run.keep_only([(0.1, 0)])
    assert run.keep_threshold == -math.inf and kept_models(str(tmp_path)) == {}


@pytest.mark.slow
def test_keep_best_keeps_the_k_best_models_and_the_report_lists_them(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(compile_text(TINY_KERAS))
    out = tmp_path / "run"
    result = run_script(script, out, "--max-evals", "5", "--keep-best", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    best_two = sorted(records, key=lambda r: r["loss"])[:2]
    assert sorted(kept_models(str(out))) == sorted(r["tid"] for r in best_two)
    assert (out / "best_model.keras").exists()
    import keras

    kept = keras.saving.load_model(kept_models(str(out))[best_two[0]["tid"]])
    assert kept.layers[0].units == best_two[0]["params"]["Dense"]
    report = invoke(["report", str(out), "--format", "html"])
    assert report.exit_code == 0, report.output
    html = (out / "report" / "report.html").read_text()
    assert "Kept models" in html and all(
        f"models/trial-{r['tid']}.keras" in html for r in best_two
    )
    # The summary ends with the kept models, best first, and a line that loads the best.
    paths = [str(out / kept_model_name(r["tid"])) for r in best_two]
    tail = result.stdout.rstrip("\n").splitlines()[-4:]
    assert tail[0] == "Kept models (--keep-best 2), best first"
    assert [line.split()[-1] for line in tail[1:3]] == paths
    assert tail[3] == f'Load the best: keras.models.load_model("{paths[0]}")'
    loaded = eval(tail[3].split(": ", 1)[1], {"keras": keras})
    assert loaded.layers[0].units == best_two[0]["params"]["Dense"]
    info = json.loads((out / "run.json").read_text())
    assert info["keras_backend"] == {
        "name": keras.backend.backend(),
        "version": getattr(__import__(keras.backend.backend()), "__version__", None),
    }


@pytest.mark.slow
def test_a_resume_keeps_the_runs_keep_best(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(compile_text(TINY_KERAS))
    out = tmp_path / "run"
    first = run_script(script, out, "--max-evals", "3", "--keep-best", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    result = run_script(script, out, "--max-evals", "5", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resume: from run.json: --keep-best 2" in result.stderr
    assert "resume: --max-evals 3 -> 5 (given again)" in result.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["options"]["keep_best"] == 2 and info["max_evals"] == 5
    assert info["resumes"][0]["changed"] == {"max_evals": [3, 5]}
    records = [
        json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()
    ]
    best_two = sorted(records, key=lambda r: r["loss"])[:2]
    assert sorted(kept_models(str(out))) == sorted(r["tid"] for r in best_two)
    assert "Kept models (--keep-best 2), best first" in result.stdout
    assert "already has" not in result.stderr
    # A --max-evals the run has reached runs nothing, and says so.
    again = run_script(script, out, "--max-evals", "4", "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert (
        "resume: the run already has 5 trials, --max-evals 4: nothing to run"
        in again.stderr
    )
    assert len((out / "trials.jsonl").read_text().splitlines()) == 5


def test_best_ensemble_in_the_model_file_sets_the_default():
    text = TINY_KERAS + """

if __name__ == "__main__":
    from hyperas import optim
    best = optim.best_ensemble(nb_ensemble_models=3, model=model, data=data, max_evals=4)
"""
    script = compile_text(text)
    assert "keep_best=3," in script
