"""The one exception type the runtime shows its user as a single line."""


class RunError(Exception):
    """A problem the user must resolve: printed as `error: MESSAGE`, no traceback."""
