"""Stage 1c: read what is inside each handle: a distribution call.

A handle's inner text is parsed on its own with `ast`. The result is plain
data: the distribution, its explicit name if any, argument source texts and,
for choices, one record per option. Nested distributions (a choice option that
is itself a distribution) become child records.
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings

from ..diagnostics import CompileError, Diagnostic
from .records import Distribution, Handle, Option
from ..text.lines import split_lines

# hyperopt.hp distributions and their parameters, label left out.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "choice": ("options",),
    "pchoice": ("p_options",),
    "randint": ("low", "high"),
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
    "uniformint": ("low", "high"),
}
REQUIRED = {name: len(params) for name, params in SIGNATURES.items()}
REQUIRED["randint"] = 1  # randint(upper) or randint(low, high)
BOUNDED = {"uniform", "quniform", "loguniform", "qloguniform", "uniformint"}
LOG_SCALE = {"loguniform", "qloguniform", "lognormal", "qlognormal"}


class _InnerText:
    """Maps positions in the wrapped inner text `(` + inner + `\\n)` to the file."""

    def __init__(self, handle: Handle):
        self.handle = handle
        self.text = "(" + handle.inner + "\n)"
        self.lines = split_lines(self.text)

    def position(self, lineno: int, byte_col: int) -> tuple[int, int]:
        line_text = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        col = len(line_text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))
        line0, col0 = self.handle.inner_start
        if lineno == 1:
            return line0, col0 + col  # the added "(" makes this 1-based
        return line0 + lineno - 1, col + 1

    def node_position(self, node: ast.AST) -> tuple[int, int]:
        return self.position(node.lineno, node.col_offset)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""


def parse_handle(handle: Handle, warnings: list[Diagnostic]) -> Distribution:
    """Parse one handle; raise CompileError with every error, append warnings."""
    inner = _InnerText(handle)
    line, col = handle.start[0], handle.start[1] + 1
    try:
        tree = _parse_quietly(inner.text)
    except SyntaxError as exc:
        eline, ecol = inner.position(exc.lineno or 1, max((exc.offset or 1) - 1, 0))
        raise CompileError(
            [Diagnostic(eline, ecol, f"invalid Python inside handle: {exc.msg}")]
        ) from None
    problems: list[Diagnostic] = []
    if not inner.handle.inner.strip():
        raise CompileError(
            [
                Diagnostic(
                    line,
                    col,
                    "empty handle",
                    "write a distribution such as {{uniform(0, 1)}}",
                )
            ]
        )
    dist = _read_call(tree.body, inner, problems, (line, col))
    warnings.extend(p for p in problems if p.severity == "warning")
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CompileError(errors)
    assert dist is not None
    dist.line, dist.column = line, col  # a handle is located by its opening braces
    return dist


def _parse_quietly(text: str) -> ast.Expression:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # e.g. invalid escapes in option strings: the user's business
        return ast.parse(text, mode="eval")


def _read_call(
    node: ast.expr, inner: _InnerText, problems: list[Diagnostic], at: tuple[int, int]
) -> Distribution | None:
    if _is_nested_handle(node):
        problems.append(
            Diagnostic(
                *at,
                "nested handles are written without braces",
                "inside a handle write choice([None, uniform(0, 1)])",
            )
        )
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        problems.append(
            Diagnostic(
                *at,
                "a handle must hold a distribution call",
                "for example {{uniform(0, 1)}} or {{choice(['adam', 'sgd'])}}",
            )
        )
        return None
    name = node.func.id
    line, col = inner.node_position(node)
    if name not in SIGNATURES:
        close = difflib.get_close_matches(name, SIGNATURES, n=1)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else "known: " + ", ".join(SIGNATURES)
        )
        problems.append(Diagnostic(line, col, f"unknown distribution '{name}'", hint))
        return None
    args = list(node.args)
    explicit = None
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        explicit = args.pop(0).value
        if not explicit.isprintable() or not explicit.strip():
            problems.append(
                Diagnostic(
                    line, col, "an explicit name must be a non-empty printable string"
                )
            )
    elif args and isinstance(args[0], ast.JoinedStr):
        problems.append(
            Diagnostic(
                *inner.node_position(args[0]),
                "an explicit name must be a plain string literal",
            )
        )
        return None
    bound = _bind(name, args, node.keywords, inner, problems, (line, col))
    if bound is None:
        return None
    dist = Distribution(name, explicit, [inner.segment(a) for a in bound], line, col)
    if name in ("choice", "pchoice"):
        _read_options(dist, bound[0], inner, problems)
    else:
        for arg in bound:
            if _contains_distribution(arg):
                problems.append(
                    Diagnostic(
                        *inner.node_position(arg),
                        "a distribution can only be nested as a choice option",
                    )
                )
        dist.names = _free_names(bound)
        _check_values(dist, bound, inner, problems)
    return dist


def _bind(name, args, keywords, inner, problems, at) -> list[ast.expr] | None:
    params = SIGNATURES[name]
    usage = f"{name}({', '.join(params)})"
    if any(isinstance(a, ast.Starred) for a in args) or any(
        k.arg is None for k in keywords
    ):
        problems.append(
            Diagnostic(
                *at,
                f"{name}() arguments must be written out, not unpacked with * or **",
            )
        )
        return None
    bound: dict[str, ast.expr] = dict(zip(params, args))
    if len(args) > len(params):
        problems.append(
            Diagnostic(
                *at,
                f"{name}() takes at most {len(params)} arguments, got {len(args)}",
                f"usage: {usage}",
            )
        )
        return None
    for kw in keywords:
        key = kw.arg
        if name == "randint" and kw.arg == "upper":
            # hp.randint(label, upper): alone, `upper` fills the first slot.
            key = "high" if args else "low"
        if key not in params:
            problems.append(
                Diagnostic(
                    *inner.node_position(kw),
                    f"{name}() has no parameter '{kw.arg}'",
                    f"usage: {usage}",
                )
            )
            return None
        if key in bound:
            problems.append(
                Diagnostic(*inner.node_position(kw), f"{name}() got '{kw.arg}' twice")
            )
            return None
        bound[key] = kw.value
    given = [p for p in params if p in bound]
    if len(given) < REQUIRED[name] or given != list(params[: len(given)]):
        missing = [
            p for p in params[: max(REQUIRED[name], len(given))] if p not in bound
        ]
        problems.append(
            Diagnostic(
                *at,
                f"{name}() is missing argument {', '.join(repr(m) for m in missing)}",
                f"usage: {usage}",
            )
        )
        return None
    return [bound[p] for p in given]


def _read_options(
    dist: Distribution, container: ast.expr, inner: _InnerText, problems
) -> None:
    if not isinstance(container, (ast.List, ast.Tuple)):
        if _contains_distribution(container):
            problems.append(
                Diagnostic(
                    *inner.node_position(container),
                    "nested distributions need a literal list of options",
                )
            )
        dist.options_text = inner.segment(container)
        dist.names = _free_names([container])
        return
    if not container.elts:
        problems.append(
            Diagnostic(
                *inner.node_position(container),
                f"{dist.dist}() needs at least one option",
            )
        )
        return
    options: list[Option] = []
    probabilities: list[float] = []
    for elt in container.elts:
        probability = None
        if dist.dist == "pchoice":
            if not (isinstance(elt, ast.Tuple) and len(elt.elts) == 2) or isinstance(
                elt.elts[0], ast.Starred
            ):
                problems.append(
                    Diagnostic(
                        *inner.node_position(elt),
                        "pchoice() options are (probability, option) pairs",
                    )
                )
                continue
            p_node, elt = elt.elts
            probability = inner.segment(p_node)
            dist.names |= _free_names([p_node])
            value = _literal(p_node)
            if _is_number(value) and 0 <= value <= 1:
                probabilities.append(float(value))
            elif value is not None or _is_infinite(p_node):
                problems.append(
                    Diagnostic(
                        *inner.node_position(p_node),
                        f"pchoice() probabilities must be numbers from 0 to 1, got {probability}",
                    )
                )
        if isinstance(elt, ast.Starred):
            # The options are sampled one by one; an unpacked iterable has no count to sample from.
            problems.append(
                Diagnostic(
                    *inner.node_position(elt),
                    f"{dist.dist}() options must be written out, not unpacked with *",
                    "list each option, or pass the whole list without brackets: choice(OPTIONS)",
                )
            )
            continue
        options.append(_read_option(elt, inner, problems, dist))
        options[-1].probability = probability
    dist.options = options
    kinds = {o.kind for o in options}
    if "object" in kinds and "nested" in kinds:
        nested = next(o for o in options if o.kind == "nested")
        problems.append(
            Diagnostic(
                nested.nested.line,
                nested.nested.column,
                "a nested distribution cannot share a choice with object options",
                "give the object option its own handle",
            )
        )
    if (
        probabilities
        and len(probabilities) == len(options)
        and not math.isclose(sum(probabilities), 1.0, abs_tol=1e-6)
    ):
        problems.append(
            Diagnostic(
                dist.line,
                dist.column,
                f"pchoice() probabilities sum to {sum(probabilities):g}, not 1",
            )
        )


def _read_option(
    elt: ast.expr, inner: _InnerText, problems, parent: Distribution
) -> Option:
    text = inner.segment(elt)
    if (
        isinstance(elt, ast.Call)
        and isinstance(elt.func, ast.Name)
        and elt.func.id in SIGNATURES
    ):
        nested = _read_call(elt, inner, problems, inner.node_position(elt))
        if nested is not None:
            parent.names |= nested.names | {n for d in nested.nested for n in d.names}
            if nested.is_object_choice:
                # Only a handle's own choice is rebuilt in the trial; a nested one would
                # hand the model the option's source text instead of the object.
                problems.append(
                    Diagnostic(
                        nested.line,
                        nested.column,
                        "object options cannot stand in a nested choice",
                        "give the object choice its own handle",
                    )
                )
        return Option(text, "nested", nested)
    if _is_nested_handle(elt):
        _read_call(elt, inner, problems, inner.node_position(elt))
        return Option(text, "object")
    try:
        ast.literal_eval(elt)
        return Option(text, "literal")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if _contains_distribution(elt):
        problems.append(
            Diagnostic(
                *inner.node_position(elt),
                "a distribution inside an object option is not supported",
                "give it its own handle in the model function",
            )
        )
    parent.option_names |= _free_names([elt])
    return Option(text, "object")


def _check_values(
    dist: Distribution, bound: list[ast.expr], inner: _InnerText, problems
) -> None:
    values = [_literal(a) for a in bound]
    for node, value in zip(bound, values):
        if (_is_number(value) and not math.isfinite(value)) or _is_infinite(node):
            # hyperopt would fail at run time, or sample nothing but inf and nan.
            problems.append(
                Diagnostic(
                    *inner.node_position(node),
                    f"{dist.dist}() arguments must be finite numbers, got {inner.segment(node)}",
                )
            )
            return
    params = SIGNATURES[dist.dist]
    named = dict(zip(params, values))
    low, high = named.get("low"), named.get("high")
    if dist.dist == "randint" and len(bound) == 1:
        low, high = 0, named.get("low")
    if _is_number(low) and _is_number(high) and not low < high:
        what = "upper" if dist.dist == "randint" and len(bound) == 1 else "low"
        problems.append(
            Diagnostic(
                dist.line,
                dist.column,
                (
                    f"{dist.dist}(): {what} bound must be less than high, got {low!r} and {high!r}"
                    if what == "low"
                    else f"randint(): upper must be positive, got {high!r}"
                ),
            )
        )
    for param in ("q", "sigma"):
        if _is_number(named.get(param)) and named[param] <= 0:
            problems.append(
                Diagnostic(
                    dist.line,
                    dist.column,
                    f"{dist.dist}(): {param} must be positive, got {named[param]!r}",
                )
            )
    if (
        dist.dist in ("loguniform", "qloguniform")
        and _is_number(low)
        and _is_number(high)
        and 0 < low < high <= 1
    ):
        problems.append(
            Diagnostic(
                dist.line,
                dist.column,
                f"{dist.dist}() bounds are exponents: this samples between e^{low:g} and e^{high:g}",
                f"for values between {low:g} and {high:g} write {dist.dist}(math.log({low:g}), math.log({high:g}))",
                severity="warning",
            )
        )


def _literal(node: ast.expr):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _is_infinite(node: ast.expr) -> bool:
    """`float("inf")`, `float('nan')`, `math.inf`, `np.nan` and the like, maybe negated."""
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "float"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        text = node.args[0].value.strip().lower().lstrip("+-")
        return text in ("inf", "infinity", "nan")
    return isinstance(node, ast.Attribute) and node.attr in ("inf", "nan", "infty")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_nested_handle(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Set)
        and len(node.elts) == 1
        and isinstance(node.elts[0], ast.Set)
    )


def _contains_distribution(node: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id in SIGNATURES
        for n in ast.walk(node)
    ) or any(_is_nested_handle(n) for n in ast.walk(node) if isinstance(n, ast.Set))


def _free_names(nodes: list[ast.expr]) -> set[str]:
    """Names read by expressions, minus those bound inside them (lambdas, comprehensions)."""
    read: set[str] = set()
    bound: set[str] = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                (read if isinstance(n.ctx, ast.Load) else bound).add(n.id)
            elif isinstance(n, ast.arg):
                bound.add(n.arg)
    return read - bound
