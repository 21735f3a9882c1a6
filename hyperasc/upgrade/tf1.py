"""TensorFlow 1 calls that Keras 3 scripts stop at.

  from tensorflow import set_random_seed   ->  from tensorflow.random import set_seed as set_random_seed
  tf.set_random_seed(1)                    ->  tf.random.set_seed(1)
  tf.logging.set_verbosity(tf.logging.ERROR)  ->  tf.get_logger().setLevel("ERROR")
  config = tf.ConfigProto(...); sess = tf.Session(config=config); K.set_session(sess)
                                           ->  dropped, with a note (Keras 3 runs eagerly)

Session set-up goes only when every name it makes is used by set-up alone;
otherwise each piece gets a warning.
"""

from __future__ import annotations

import ast

from .context import Context, Item
from .core import Change, Edit

_TF = ("tensorflow.", "tensorflow.compat.v1.")
SESSION_MAKERS = {
    p + n
    for p in _TF
    for n in ("ConfigProto", "Session", "InteractiveSession", "GPUOptions")
}
GETTERS = {
    "keras.backend.get_session",
    "keras.backend.tensorflow_backend.get_session",
    "tensorflow.keras.backend.get_session",
    "tensorflow.compat.v1.keras.backend.get_session",
}
SETTERS = {g.replace("get_session", "set_session") for g in GETTERS}
# Calls that may sit inside dropped set-up (they only describe the session).
_QUIET_PREFIXES = ("tensorflow.", "keras.backend.")
LEVELS = {"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL"}


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.ImportFrom):
        if node.module == "tensorflow" and not node.level:
            out += _seed_import(ctx, node)
    for node in ctx.of(ast.Attribute):
        if node.attr == "set_random_seed" and ctx.dotted(node.value) == "tensorflow":
            start, end = ctx.name_span(node)
            out.append(
                ctx.change(
                    "tf.set_random_seed",
                    start,
                    [Edit(start, end, "random.set_seed")],
                    "tf.set_random_seed -> tf.random.set_seed",
                )
            )
    for node in ctx.of(ast.Call):
        if ctx.dotted(node.func) in (
            "tensorflow.logging.set_verbosity",
            "tensorflow.compat.v1.logging.set_verbosity",
        ):
            out += _verbosity(ctx, node)
    out += _session(ctx)
    return out


def _seed_import(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    names = [a for a in node.names if a.name == "set_random_seed"]
    if not names:
        return []
    start, end = ctx.span(node)
    if len(node.names) > 1:
        return [
            ctx.warn(
                "set_random_seed",
                ctx.start(names[0]),
                "TensorFlow 2 has no tensorflow.set_random_seed",
                "import it on a line of its own: from tensorflow.random import set_seed",
            )
        ]
    local = names[0].asname or "set_random_seed"
    return [
        ctx.change(
            "set_random_seed",
            start,
            [Edit(start, end, f"from tensorflow.random import set_seed as {local}")],
            "tensorflow.set_random_seed -> tensorflow.random.set_seed",
        )
    ]


def _verbosity(ctx: Context, node: ast.Call) -> list[Item]:
    start, end = ctx.span(node)
    func = node.func
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Attribute):
        return []
    tf_node = func.value.value  # `tf` of tf.logging.set_verbosity
    level = node.args[0] if len(node.args) == 1 and not node.keywords else None
    if (
        isinstance(level, ast.Attribute)
        and level.attr in LEVELS
        and ctx.dotted(level.value) == ctx.dotted(func.value)
    ):
        tf_text = ctx.source(tf_node)
        new = f'{tf_text}.get_logger().setLevel("{level.attr}")'
        return [
            ctx.change(
                "tf.logging",
                start,
                [Edit(start, end, new)],
                "tf.logging.set_verbosity(tf.logging.X) -> tf.get_logger().setLevel('X')",
            )
        ]
    return [
        ctx.warn(
            "tf.logging",
            start,
            "TensorFlow 2 has no tf.logging",
            'use tf.get_logger().setLevel("ERROR") (or "INFO", "WARNING", ...)',
        )
    ]


def setup_statements(ctx: Context) -> list[ast.stmt]:
    """The TF1 session set-up statements that can go (worked out once per file)."""
    if "tf1.setup" not in ctx.memo:
        ctx.memo["tf1.setup"] = _setup(ctx)
    return ctx.memo["tf1.setup"][0]


def _setup(ctx: Context) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """(statements to drop, set-up statements that must stay)."""
    candidates: list[ast.stmt] = []
    made: set[str] = set()
    for stmt in ctx.of(ast.Assign, ast.Expr):
        value = stmt.value
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0] if len(stmt.targets) == 1 else None
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Call)
                and _maker(ctx, value) in (*SESSION_MAKERS, *GETTERS)
            ):
                candidates.append(stmt)
                made.add(target.id)
        elif isinstance(value, ast.Call) and _maker(ctx, value) in SETTERS:
            candidates.append(stmt)
    if not candidates:
        return [], []
    # `config.gpu_options.allow_growth = True`, `sess.run(...)`: set-up on what set-up made.
    for stmt in ctx.of(ast.Assign, ast.Expr):
        if stmt in candidates:
            continue
        node = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.value
        if isinstance(stmt, ast.Assign) and len(stmt.targets) != 1:
            continue
        if isinstance(node, ast.Call):
            node = node.func
        if isinstance(node, ast.Attribute) and _root(node) in made:
            candidates.append(stmt)
    inside = {id(n) for s in candidates for n in ast.walk(s)}
    outside_use = any(
        n.id in made and id(n) not in inside and isinstance(n.ctx, ast.Load)
        for n in ctx.of(ast.Name)
    )
    handles_use = any(
        name in ctx.text[s:e] for s, e in ctx.handle_spans for name in made
    )
    pure = all(
        _quiet(ctx, call)
        for stmt in candidates
        for call in ast.walk(stmt)
        if isinstance(call, ast.Call)
    )
    candidates.sort(key=lambda s: (s.lineno, s.col_offset))
    if outside_use or handles_use or not pure or not ctx.drop_statements(candidates):
        return [], candidates
    return candidates, []


def _maker(ctx: Context, call: ast.Call) -> str | None:
    return ctx.dotted(call.func)


def _quiet(ctx: Context, call: ast.Call) -> bool:
    func = call.func
    dotted = ctx.dotted(func) or ""
    if dotted.startswith(_QUIET_PREFIXES):
        return True
    return isinstance(
        func, ast.Attribute
    )  # sess.run(...), a method of what set-up made


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _session(ctx: Context) -> list[Item]:
    setup_statements(ctx)
    drop, _ = ctx.memo["tf1.setup"]
    out: list[Item] = []
    dropped: set[int] = set()
    edits = ctx.drop_statements(drop) if drop else None
    if edits:
        first = ctx.start(drop[0])
        change = ctx.change(
            "tf.Session", first, edits, "TF1 session set-up -> (dropped)"
        )
        out.append(change)
        if isinstance(change, Change):
            dropped = {id(s) for s in drop}
            out.append(
                ctx.note(
                    "tf.Session",
                    first,
                    f"dropped {len(drop)} statement{'s' if len(drop) != 1 else ''} of TF1 "
                    "session set-up (ConfigProto, Session, set_session): Keras 3 runs eagerly",
                    "for GPU memory growth use "
                    "tf.config.experimental.set_memory_growth(gpu, True) for each of "
                    "tf.config.list_physical_devices('GPU')",
                )
            )
    for node in ctx.of(ast.Call):
        dotted = ctx.dotted(node.func)
        if dotted in SESSION_MAKERS or dotted in SETTERS or dotted in GETTERS:
            if id(ctx.statement_of(node)) in dropped:
                continue
            out.append(
                ctx.warn(
                    dotted.rsplit(".", 1)[1],
                    ctx.start(node),
                    f"{dotted.replace('tensorflow', 'tf')} is TensorFlow 1 session set-up; "
                    "Keras 3 has no sessions",
                    "delete the set-up; for GPU memory growth use "
                    "tf.config.experimental.set_memory_growth(gpu, True)",
                )
            )
    return out
