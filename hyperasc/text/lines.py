"""Line splitting shared by the compiler, the upgrader and the notebook reader."""

from __future__ import annotations

import re

_LINE_END = re.compile(r"(\r\n|\r|\n)")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """Split at \\n, \\r\\n and \\r only, as Python's tokenizer counts lines.

    str.splitlines() also splits at form feed, \\v, \\x1c-\\x1e, U+0085, U+2028
    and U+2029, which may stand in comments and strings; every later line
    number would then be off.
    """
    lines = _LINE_END.split(text)
    # re.split with a group alternates text and separators: [text, sep, text, ...].
    parts = lines[0::2]
    ends = lines[1::2] + [""]
    if keepends:
        out = [part + end for part, end in zip(parts, ends)]
    else:
        out = list(parts)
    if out and out[-1] == "":
        out.pop()  # like splitlines: no empty line after a final line break
    return out
