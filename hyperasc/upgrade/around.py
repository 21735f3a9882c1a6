"""Around Keras: the libraries hyperas files lean on, as they are today.

from sklearn.cross_validation import train_test_split  ->  sklearn.model_selection
from sklearn.externals import joblib                   ->  import joblib
from pandas.tools.plotting import scatter_matrix       ->  pandas.plotting
np.Inf, np.NaN, np.float_, ... (gone in NumPy 2)       ->  np.inf, np.nan, np.float64, ...
keras.preprocessing.text.Tokenizer, model.to_yaml(), K.count_params
                                                       ->  warnings with the Keras 3 way
"""

from __future__ import annotations

import ast

from .context import Context, Item
from .core import Edit

# sklearn.cross_validation names that kept their meaning in sklearn.model_selection
# (KFold and the other splitters changed their arguments).
SAME_IN_MODEL_SELECTION = {
    "train_test_split",
    "cross_val_score",
    "cross_val_predict",
    "permutation_test_score",
}
MODULES = {"pandas.tools.plotting": "pandas.plotting"}
NUMPY = {
    "Inf": "inf",
    "Infinity": "inf",
    "PINF": "inf",
    "infty": "inf",
    "NaN": "nan",
    "NAN": "nan",
    "float_": "float64",
    "complex_": "complex128",
    "string_": "bytes_",
    "unicode_": "str_",
    "product": "prod",
    "cumproduct": "cumprod",
    "alltrue": "all",
    "sometrue": "any",
    "round_": "round",
}


def find(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for node in ctx.of(ast.ImportFrom):
        if node.module and not node.level:
            out += _import_from(ctx, node)
    for node in ctx.of(ast.Import):
        out += _import(ctx, node)
    for node in ctx.of(ast.Attribute):
        if node.attr in NUMPY or node.attr == "NINF":
            if ctx.dotted(node.value) == "numpy":
                out.append(_numpy(ctx, node))
    for node in ctx.of(ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "to_yaml":
            out.append(
                ctx.warn(
                    "to_yaml",
                    ctx.name_span(func)[0],
                    "Keras 3 has no to_yaml()",
                    "use model.to_json() (and keras.models.model_from_json)",
                )
            )
        elif ctx.qualify(func) in (
            "keras.backend.count_params",
            "keras.utils.layer_utils.count_params",
        ):
            out.append(
                ctx.warn(
                    "count_params",
                    ctx.start(node),
                    "Keras 3's backend has no count_params()",
                    "use int(np.prod(w.shape)) for one weight, or model.count_params()",
                )
            )
    return out


def _module_edit(ctx: Context, node: ast.ImportFrom, new: str) -> Edit:
    first = ctx.next_token(ctx.next_token(ctx.start(node)).end)  # after `from`
    index = ctx.tokens.index(first)
    last = first
    while ctx.tokens[index + 1].string != "import":
        index += 1
        last = ctx.tokens[index]
    return Edit(first.start, last.end, new)


def _import_from(ctx: Context, node: ast.ImportFrom) -> list[Item]:
    module = node.module
    start = ctx.start(node)
    if module == "sklearn.cross_validation":
        names = {a.name for a in node.names}
        if names <= SAME_IN_MODEL_SELECTION:
            edit = _module_edit(ctx, node, "sklearn.model_selection")
            return [
                ctx.change(
                    module,
                    edit.start,
                    [edit],
                    "sklearn.cross_validation -> sklearn.model_selection",
                )
            ]
        return [
            ctx.warn(
                module,
                start,
                "scikit-learn has no sklearn.cross_validation",
                "import from sklearn.model_selection; its KFold and StratifiedKFold "
                "take n_splits= and split(X, y) instead of (n, n_folds=)",
            )
        ]
    if module in MODULES:
        edit = _module_edit(ctx, node, MODULES[module])
        return [
            ctx.change(module, edit.start, [edit], f"{module} -> {MODULES[module]}")
        ]
    if module == "sklearn.externals" and [a.name for a in node.names] == ["joblib"]:
        alias = node.names[0]
        end = ctx.span(node)[1]
        text = "import joblib" + (f" as {alias.asname}" if alias.asname else "")
        return [
            ctx.change(
                "sklearn.externals.joblib",
                start,
                [Edit(start, end, text)],
                "sklearn.externals.joblib -> joblib",
            )
        ]
    if module == "sklearn.externals.joblib":
        edit = _module_edit(ctx, node, "joblib")
        return [
            ctx.change(
                "sklearn.externals.joblib",
                edit.start,
                [edit],
                "sklearn.externals.joblib -> joblib",
            )
        ]
    if module in ("keras.preprocessing.text", "tensorflow.keras.preprocessing.text"):
        return [
            ctx.warn(
                a.name,
                ctx.start(a),
                f"Keras 3 has no {module}.{a.name}",
                "use keras.layers.TextVectorization(max_tokens=..., output_mode='int') "
                "and its adapt(texts); or keep Keras 2's Tokenizer from tf_keras",
            )
            for a in node.names
        ]
    return []


def _import(ctx: Context, node: ast.Import) -> list[Item]:
    out: list[Item] = []
    for alias in node.names:
        if alias.name == "sklearn.externals.joblib" and alias.asname:
            start = ctx.start(alias)
            out.append(
                ctx.change(
                    "sklearn.externals.joblib",
                    start,
                    [Edit(start, start + len(alias.name), "joblib")],
                    "sklearn.externals.joblib -> joblib",
                )
            )
    return out


def _numpy(ctx: Context, node: ast.Attribute) -> Item:
    start, end = ctx.name_span(node)
    if node.attr == "NINF":
        whole, _ = ctx.span(node)
        return ctx.change(
            "np.NINF",
            start,
            [Edit(whole, whole, "(-"), Edit(start, end, "inf"), Edit(end, end, ")")],
            "np.NINF -> (-np.inf)",
        )
    new = NUMPY[node.attr]
    return ctx.change(
        f"np.{node.attr}", start, [Edit(start, end, new)], f"np.{node.attr} -> np.{new}"
    )
