"""The rule families: one module of this package per kind of Keras 1/2 spelling.

Each module has `find(ctx) -> list[Change | Finding]` over a shared
`Context` (the parsed file, its tokens, its handles, what each name means
where it is used). Families never edit text; the engine applies what they
return. Order does not matter: every edit is at an ast-given position.
"""

from . import (
    aliases,
    around,
    callbacks,
    fit,
    history,
    imports,
    layers,
    optimizers,
    preprocessing,
    tf1,
)

FAMILIES = [
    imports,
    layers,
    optimizers,
    fit,
    history,
    callbacks,
    tf1,
    aliases,
    around,
    preprocessing,
]

__all__ = ["FAMILIES"]
