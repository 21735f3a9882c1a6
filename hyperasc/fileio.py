"""Writing files so that nobody ever sees half of one."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, follow_links: bool = True) -> None:
    """Write `data` to `path`; raise OSError and leave a regular file alone on failure.

    A symlink is followed: its target is written and the link stays. With
    `follow_links=False` (files in a directory someone else may have made, such
    as a downloaded run's report/) nothing is written through a link: the link
    itself, or anything else that is not a directory, is replaced in one step by
    a regular file in the same directory, and the link's target is left alone. A regular
    file, or a path that does not exist yet, is replaced in one step (a
    temporary file renamed over it), so a reader sees the old or the new
    content, never half. Anything else that can be opened, such as a character
    device (`/dev/null`) or a FIFO, is opened and written directly: renaming a
    file over it would replace the device node or pipe with a plain file.

    The new file keeps the old one's permissions, or gets the usual ones for a
    new file (mkstemp would make it private).
    """
    if follow_links:
        target = Path(os.path.realpath(path))
    else:  # the directory may be reached through links; the name itself is not
        target = Path(os.path.realpath(os.path.dirname(os.path.abspath(path))))
        target = target / os.path.basename(path)
    try:
        st = target.stat() if follow_links else target.lstat()
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    if st is not None and not follow_links and not stat.S_ISREG(st.st_mode):
        st = None  # a link, pipe or device node: replaced, with a new file's mode
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_through(target, data)
        return
    mode = st.st_mode & 0o777 if st is not None else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_through(target: Path, data: bytes) -> None:
    """Write into a device or pipe as it is; O_TRUNC means nothing to them."""
    fd = os.open(target, os.O_WRONLY)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
