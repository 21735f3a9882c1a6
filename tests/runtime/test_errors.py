"""RunError: the user's problem, shown as one line."""

from __future__ import annotations

import pytest

from hyperasc.runtime import search, values
from hyperasc.runtime.errors import RunError


def test_run_error_is_an_ordinary_exception_with_its_message():
    assert issubclass(RunError, Exception)
    assert not issubclass(RunError, (KeyboardInterrupt, SystemExit))
    with pytest.raises(RunError, match="^--out is taken$"):
        raise RunError("--out is taken")


def test_the_runtime_raises_it_for_user_errors_and_prints_one_line(tmp_path, capsys):
    missing = tmp_path / "points.json"
    with pytest.raises(RunError) as info:
        values.read_points([], str(missing))
    assert str(info.value).startswith(f"cannot read --points {missing}")

    def main(argv):
        raise info.value

    assert search.run_main(main, []) == 1
    assert capsys.readouterr().err == f"error: {info.value}\n"
