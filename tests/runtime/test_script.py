"""Script (the model-specific facts a generated script hands over) and data_once."""

from __future__ import annotations

from hyperasc.runtime import script as script_module
from hyperasc.runtime.script import Script, data_once


def body(params):
    return params["x"]


def test_script_keeps_the_facts_and_knows_it_is_not_bundled(tmp_path):
    path = tmp_path / "tune.py"
    path.write_text("# the script\n")
    table = ({"name": "x"},)
    script = Script(
        path=str(path),
        trial=body,
        parameters=table,
        model_file="model.py",
        model_sha256="f00",
    )
    assert (script.path, script.trial, script.model_file, script.model_sha256) == (
        str(path),
        body,
        "model.py",
        "f00",
    )
    assert script.parameters == [{"name": "x"}] and isinstance(script.parameters, list)
    assert (script.max_evals, script.algo) == (20, "tpe")  # hyperas's defaults
    # Imported as hyperasc.runtime, no bundle set the version or the worker's bootstrap.
    assert script.version == "unbundled" and script.bootstrap is None
    assert script.source() == "# the script\n"
    path.write_text("# changed\n")
    assert script.source() == "# the script\n"  # read once: workers get what started


def test_script_source_given_needs_no_file():
    script = Script(path="<string>", trial=body, source="x = 1\n")
    assert script.source() == "x = 1\n"


def test_data_once_computes_once_per_function_and_arguments():
    calls = []

    def load(n=1):
        calls.append(n)
        return tuple(range(n))

    def single():
        calls.append("single")
        return [1, 2]

    try:
        assert data_once(load, (3,)) == (0, 1, 2)
        assert data_once(load, (3,)) == (0, 1, 2)
        assert data_once(load, (2,)) == (0, 1)
        assert data_once(single) == ([1, 2],)  # one value is one argument of the model
        assert data_once(single) == ([1, 2],)
        assert calls == [3, 2, "single"]
    finally:
        for key in [k for k in script_module._data_cache if k[0] in (load, single)]:
            del script_module._data_cache[key]
