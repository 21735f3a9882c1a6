"""`hyperasc upgrade`: rewrite Keras 1/2 spellings in a model file to Keras 3.

Two small stages with plain data between them, the way pyupgrade and
TensorFlow's tf_upgrade_v2 work:

1. `find(text)` parses the file (handles replaced by placeholders, see
   scanner) and returns a Plan: Changes, each one Keras 1/2 spelling with the
   text Edits that fix it (offsets into the original text), and Findings,
   located warnings for what cannot be rewritten safely.
2. `apply(text, changes)` splices the edits in. Everything else stays byte for
   byte, handles included, and a second run finds nothing more to change.

Names are resolved through the file's own imports, so `Adam(lr=...)` is
rewritten only when `Adam` is Keras's optimizer, never torch's. Nothing here
imports keras or tensorflow.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from bisect import bisect_left
from dataclasses import dataclass, field

from ..diagnostics import CompileError, Diagnostic, error
from ..text.notebook import capture_sign, ipython_kinds, label
from ..compile.scanner import Handle, scan, substitute

# --- What Keras 3 calls things ------------------------------------------------

# Submodules that Keras 3 folded into `keras.layers` / `keras.utils`.
LAYER_SUBMODULES = {
    "core",
    "convolutional",
    "recurrent",
    "pooling",
    "embeddings",
    "normalization",
    "merge",
    "advanced_activations",
    "noise",
    "wrappers",
    "local",
    "convolutional_recurrent",
    "cudnn_recurrent",
    "recurrent_v2",
    "dense_attention",
    "kernelized",
}
UTILS_SUBMODULES = {
    "np_utils",
    "vis_utils",
    "generic_utils",
    "data_utils",
    "io_utils",
    "layer_utils",
    "training_utils",
    "multi_gpu_utils",
    "conv_utils",
}
# Keras 1 class names that Keras 3 spells differently, same arguments.
RENAMED = {
    "keras.layers.Convolution1D": "Conv1D",
    "keras.layers.Convolution2D": "Conv2D",
    "keras.layers.Convolution3D": "Conv3D",
    "keras.layers.SeparableConvolution2D": "SeparableConv2D",
    "keras.layers.CuDNNLSTM": "LSTM",
    "keras.layers.CuDNNGRU": "GRU",
}
# Keras 1 wrote Convolution2D(filters, rows, cols); Keras 3 wants one kernel_size tuple.
SPLIT_KERNEL = {"keras.layers.Convolution2D": 2, "keras.layers.Convolution3D": 3}

# Names Keras 3 no longer has, and what to use instead.
GONE = {
    "keras.layers.Merge": "Keras 3 has no Merge layer; build the model with the functional API and "
    "merge with keras.layers.Concatenate / Add / Multiply / Average / Maximum / Dot",
    "keras.layers.merge": "Keras 3 has no merge(); use keras.layers.concatenate(inputs, axis=...), "
    "add, multiply, average, maximum or dot, after the mode= you passed",
    "keras.layers.Highway": "Keras 3 has no Highway layer; write it as a custom layer",
    "keras.layers.MaxoutDense": "Keras 3 has no MaxoutDense layer; write it as a custom layer",
    "keras.layers.TimeDistributedDense": "use keras.layers.TimeDistributed(keras.layers.Dense(...))",
    "keras.layers.ThresholdedReLU": "use keras.layers.ReLU(threshold=theta)",
    "keras.utils.multi_gpu_model": "Keras 3 has no multi_gpu_model; build and compile the model inside "
    "`with tf.distribute.MirroredStrategy().scope():` (TensorFlow backend) and fit it directly",
    "keras.wrappers.scikit_learn.KerasClassifier": "Keras 3 has no scikit-learn wrappers; use "
    "scikeras.wrappers.KerasClassifier (pip install scikeras)",
    "keras.wrappers.scikit_learn.KerasRegressor": "Keras 3 has no scikit-learn wrappers; use "
    "scikeras.wrappers.KerasRegressor (pip install scikeras)",
    "keras.backend.set_image_dim_ordering": "use keras.config.set_image_data_format('channels_first') "
    "for 'th', or 'channels_last' for 'tf'",
    "keras.backend.image_dim_ordering": "use keras.config.image_data_format(): 'channels_last' is "
    "Keras 1's 'tf', 'channels_first' its 'th'",
    "keras.preprocessing.image.ImageDataGenerator": "Keras 3 has no ImageDataGenerator; use "
    "keras.utils.image_dataset_from_directory and augmentation layers such as keras.layers.RandomFlip",
}
OPTIMIZERS = {
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "Ftrl",
    "AdamW",
}
# Keras 2's default learning rates, for the decay= advice.
DEFAULT_LR = {
    "SGD": "0.01",
    "RMSprop": "0.001",
    "Adagrad": "0.01",
    "Adadelta": "1.0",
    "Adam": "0.001",
    "Adamax": "0.002",
    "Nadam": "0.002",
    "Ftrl": "0.001",
    "AdamW": "0.001",
}

# Keyword renames, per Keras 3 layer.
_KERNEL = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
}
_CONV = {
    **_KERNEL,
    "border_mode": "padding",
    "subsample": "strides",
    "nb_filter": "filters",
}
_CONV1D = {**_CONV, "filter_length": "kernel_size", "subsample_length": "strides"}
_RNN = {
    **_KERNEL,
    "output_dim": "units",
    "inner_init": "recurrent_initializer",
    "U_regularizer": "recurrent_regularizer",
    "U_constraint": "recurrent_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
}
_POOL = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
LAYER_KEYWORDS: dict[str, dict[str, str]] = {
    "Dense": {**_KERNEL, "output_dim": "units"},
    "Conv1D": _CONV1D,
    "Conv2D": _CONV,
    "Conv3D": _CONV,
    "SeparableConv2D": _CONV,
    "Conv2DTranspose": _CONV,
    "LSTM": _RNN,
    "GRU": _RNN,
    "SimpleRNN": _RNN,
    "Embedding": {
        "init": "embeddings_initializer",
        "W_regularizer": "embeddings_regularizer",
        "W_constraint": "embeddings_constraint",
    },
    "Dropout": {"p": "rate"},
    **{f"{kind}Pooling{d}D": _POOL for kind in ("Max", "Average") for d in (1, 2, 3)},
}
DIM_ORDERING = {"tf": "channels_last", "th": "channels_first"}
DATA_FORMAT_LAYERS = {n for n in LAYER_KEYWORDS if "Conv" in n or "Pooling" in n}

# Keras 1's datasets counted the vocabulary in nb_words=. Keras 3's imdb.load_data swallows
# unknown keywords, so nb_words= would silently load every word.
DATASET_KEYWORDS = {
    "keras.datasets.imdb.load_data": {"nb_words": "num_words"},
    "keras.datasets.reuters.load_data": {"nb_words": "num_words"},
}
GENERATOR_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}
# fit_generator's queue settings: Keras 3's fit has none; they belong to a PyDataset now.
QUEUE_KEYWORDS = {
    "workers",
    "use_multiprocessing",
    "max_queue_size",
    "pickle_safe",
    "max_q_size",
    "nb_worker",
}
# Keras 1 counted samples where Keras 3 counts batches: no safe rewrite without the batch size.
SAMPLE_KEYWORDS = {
    "samples_per_epoch": "steps_per_epoch",
    "nb_val_samples": "validation_steps",
    "val_samples": "steps",
}
SHOW_ACCURACY_METHODS = {
    "fit",
    "evaluate",
    "fit_generator",
    "evaluate_generator",
    "train_on_batch",
    "test_on_batch",
}
CATEGORICAL_LOSSES = {"categorical_crossentropy", "sparse_categorical_crossentropy"}
HISTORY_KEYS = {"acc": "accuracy", "val_acc": "val_accuracy"}

# Words whose absence means there is nothing to do (the compile note's fast path).
_TRIGGERS = re.compile(
    r"keras\.layers\.\w+\.|_utils\b|\b(?:lr|init|p|decay|bias)\s*=|nb_\w+|Convolution\dD|border_mode|subsample|"
    r"W_regularizer|b_regularizer|[WbU]_constraint|output_dim|pool_length|\bstride\s*=|CuDNN|_generator\b|"
    r"predict_classes|show_accuracy|multi_gpu_model|\bacc['\"]|\b[Mm]erge\b|dim_ordering|scikit_learn|"
    r"ImageDataGenerator|Highway|MaxoutDense|ThresholdedReLU|\btest_split|class_mode|inner_init|U_regularizer|"
    r"dropout_[WU]|filter_length|samples_per_epoch|val_samples|\b(?:workers|use_multiprocessing|max_q\w*)\s*="
)
_LINE_END = re.compile(r"\r\n|\r|\n")


# --- Plain data between the stages ---------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] of the original text by `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Change:
    """One Keras 1/2 spelling and the edits that make it Keras 3."""

    rule: str  # short label, e.g. "lr="
    line: int  # 1-based, in the original text
    column: int  # 1-based
    edits: tuple[Edit, ...]
    description: str  # e.g. "lr= -> learning_rate="


@dataclass(frozen=True)
class Finding:
    """A Keras 1/2 spelling left for the user: a located warning and the Keras 3 way."""

    rule: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(
            self.line, self.column, self.message, self.hint, severity="warning"
        )


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many Keras 1/2 spellings: rewritten ones and left ones."""
        return len(self.changes) + len(self.findings)

    def rules(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in sorted(
            [*self.changes, *self.findings], key=lambda c: (c.line, c.column)
        ):
            seen.setdefault(item.rule, None)
        return list(seen)


# --- Positions ------------------------------------------------------------------


class _Positions:
    """Map positions in the substituted text (ast's lines and UTF-8 byte columns)
    to offsets in the original text, and the reverse for messages.

    Placeholders may be wider than their handles; only columns after a one-line
    handle on the same line move (substitute keeps multi-line handles' ends put).
    """

    def __init__(self, text: str, substituted: str, handles: list[Handle]):
        self.text = text
        self.starts = [0] + [m.end() for m in _LINE_END.finditer(text)]
        self.sub_lines = _LINE_END.split(substituted)
        # Per substituted line: (first column, width, handle's start and end offsets, how much wider).
        self.placeholders: dict[int, list[tuple[int, float, int, int, int]]] = {}
        for handle in handles:
            (l1, c1), (l2, c2) = handle.start, handle.end
            o1, o2 = self.starts[l1 - 1] + c1, self.starts[l2 - 1] + c2
            if l1 == l2:
                line = self.line_text(l1)
                alone = dataclasses.replace(handle, start=(1, c1), end=(1, c2))
                width = len(substitute(line, [alone])) - len(line) + (c2 - c1)
                self.placeholders.setdefault(l1, []).append(
                    (c1, width, o1, o2, width - (c2 - c1))
                )
            else:  # the rest of the first line, and the placeholder's tail on the last
                chunk = "".join(self.line_text(n) for n in range(l1, l2 + 1))
                alone = dataclasses.replace(
                    handle, start=(1, c1), end=(l2 - l1 + 1, c2)
                )
                sub_last = _LINE_END.split(substitute(chunk, [alone]))[l2 - l1]
                tail = len(sub_last) - len(_LINE_END.split(chunk)[l2 - l1]) + c2
                self.placeholders.setdefault(l1, []).append(
                    (c1, float("inf"), o1, o2, 0)
                )
                self.placeholders.setdefault(l2, []).insert(
                    0, (0, tail, o1, o2, tail - c2)
                )

    def line_text(self, line: int) -> str:
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[self.starts[line - 1] : end]

    def offset(self, line: int, byte_column: int, end: bool = False) -> int:
        """`end`: the position is where a node ends; inside a placeholder it maps to its handle's end."""
        sub = self.sub_lines[line - 1]
        column = len(sub.encode("utf-8")[:byte_column].decode("utf-8", "replace"))
        moved = 0
        for first, width, o1, o2, wider in self.placeholders.get(line, ()):
            first += moved
            if column < first or (end and column == first):
                break
            if column < first + width:
                return o2 if end else o1  # a placeholder stands for its whole handle
            moved += wider
        return self.starts[line - 1] + column - moved

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column of an offset in the original text."""
        line = bisect_left(self.starts, offset + 1)
        return line, offset - self.starts[line - 1] + 1


@dataclass(frozen=True)
class _Token:
    type: int
    string: str
    start: int
    end: int


# --- Stage 1: find ---------------------------------------------------------------


def find(text: str) -> Plan:
    """The Keras 1/2 spellings of a model file: what to rewrite and what to warn about.

    Raises CompileError when the file is not Python with handles.
    """
    if re.search(r"\r(?!\n)", text):
        raise error(
            1,
            1,
            "the file uses old Mac (CR-only) line endings; convert them to \\n first",
        )
    handles = scan(text)
    substituted = substitute(text, handles)
    try:
        tree = ast.parse(substituted)
    except SyntaxError as exc:
        raise error(
            exc.lineno or 1, exc.offset or 1, f"invalid syntax: {exc.msg}"
        ) from None
    positions = _Positions(text, substituted, handles)
    finder = _Finder(text, tree, positions, handles)
    finder.run()
    plan = Plan(finder.changes, finder.findings)
    for handle in handles:
        plan.findings.extend(_inside_handle(handle, finder))
    plan.changes.sort(key=lambda c: (c.line, c.column))
    plan.findings.sort(key=lambda f: (f.line, f.column))
    return plan


def _inside_handle(handle: Handle, outer: _Finder) -> list[Finding]:
    """Keras 1/2 spellings inside a handle become warnings: upgrade leaves handles alone."""
    if not _TRIGGERS.search(handle.inner):
        return []
    wrapped = (
        "(" + handle.inner + ")"
    )  # an expression may span lines and start with spaces
    try:
        tree = ast.parse(wrapped)
    except SyntaxError:
        return []
    positions = _Positions(wrapped, wrapped, [])
    finder = _Finder(wrapped, tree, positions, [], context=outer)
    finder.run()
    found = []
    line0, column0 = handle.inner_start
    for item in [*finder.changes, *finder.findings]:
        line = line0 + item.line - 1
        column = (
            (column0 + item.column - 1) if item.line == 1 else item.column
        )  # the "(" we added
        what = item.description if isinstance(item, Change) else item.message
        found.append(
            Finding(
                item.rule,
                line,
                column,
                f"Keras 1/2 spelling inside a handle: {what}",
                "hyperasc upgrade leaves handles alone; change the handle by hand",
            )
        )
    return found


class _Finder(ast.NodeVisitor):
    def __init__(
        self,
        text: str,
        tree: ast.Module,
        positions: _Positions,
        handles: list[Handle],
        context: _Finder | None = None,
    ):
        self.text = text
        self.tree = tree
        self.pos = positions
        starts = positions.starts
        self.handle_spans = [
            (starts[h.start[0] - 1] + h.start[1], starts[h.end[0] - 1] + h.end[1])
            for h in handles
        ]
        self.changes: list[Change] = []
        self.findings: list[Finding] = []
        self._tokens: list[_Token] | None = None
        self._token_starts: list[int] = []
        self.nodes = list(ast.walk(tree))  # one walk; every analysis below reuses it
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        if context is None:
            compiles = [
                n
                for n in self.nodes
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "compile"
            ]
            self.origins, self.stars, self.bound = _bindings(self.nodes)
            self.metric_key = _metric_spelling(compiles)
            self.categorical = _all_categorical(compiles)
            self.numpy = _numpy_name(tree)
            self.has_metrics = any(_keyword(c, "metrics") is not None for c in compiles)
        else:  # a handle's inside: the file's imports decide what names mean
            self.origins, self.stars, self.bound = (
                context.origins,
                context.stars,
                context.bound,
            )
            self.metric_key, self.categorical = context.metric_key, context.categorical
            self.numpy, self.has_metrics = context.numpy, context.has_metrics

    # -- helpers --

    @property
    def tokens(self) -> list[_Token]:
        """The original text's tokens, made only when an edit needs commas or keywords."""
        if self._tokens is None:
            self._tokens = _tokens(self.text)
            self._token_starts = [t.start for t in self._tokens]
        return self._tokens

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.pos.offset(node.lineno, node.col_offset),
            self.pos.offset(node.end_lineno, node.end_col_offset, end=True),
        )

    def source(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def has_handle(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.handle_spans)

    def change(self, rule: str, at: int, edits: list[Edit], description: str) -> None:
        if any(self.has_handle(e.start, e.end) and e.end > e.start for e in edits):
            self.warn(
                rule,
                at,
                f"{description}: not rewritten, a handle is in the way",
                "change it by hand",
            )
            return
        line, column = self.pos.line_column(at)
        self.changes.append(Change(rule, line, column, tuple(edits), description))

    def warn(self, rule: str, at: int, message: str, hint: str | None = None) -> None:
        line, column = self.pos.line_column(at)
        self.findings.append(Finding(rule, line, column, message, hint))

    def qualify(self, node: ast.AST) -> str | None:
        """The canonical Keras name an expression stands for, via the file's imports; None if not Keras."""
        dotted = self.dotted(node)
        return canonical(dotted) if dotted else None

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.bound:
                return None  # the file binds the name itself: not ours to judge
            if node.id in self.origins:
                return self.origins[node.id]
            for star in self.stars:
                candidate = canonical(f"{star}.{node.id}")
                if candidate and _known(candidate):
                    return candidate
            return None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def name_span(self, node: ast.expr) -> tuple[int, int]:
        """The span of a Name, or of an Attribute's last name."""
        start, end = self.span(node)
        if isinstance(node, ast.Attribute):
            return end - len(node.attr), end
        return start, end

    def token_at(self, offset: int) -> int:
        """The index of the first token that starts at or after offset."""
        return bisect_left(self.tokens and self._token_starts, offset)

    def next_token(self, offset: int) -> _Token | None:
        """The first significant token starting at or after offset."""
        for tok in self.tokens[self.token_at(offset) :]:
            if tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
                return tok
        return None

    def previous_token(self, offset: int) -> _Token | None:
        for tok in reversed(self.tokens[: self.token_at(offset)]):
            if tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
                return tok
        return None

    def comment_between(self, start: int, end: int) -> bool:
        return any(
            t.type == tokenize.COMMENT
            for t in self.tokens[self.token_at(start) : self.token_at(end)]
        )

    def delete_items(
        self, items: list[tuple[int, int]], doomed: set[int]
    ) -> list[Edit]:
        """Edits that remove the items at indexes `doomed` from a comma-separated list.

        Runs of neighbouring items go in one edit, so commas are never removed twice.
        A comment on a line of its own between items stays.
        """
        edits: list[Edit] = []
        i = 0
        while i < len(items):
            if i not in doomed:
                i += 1
                continue
            j = i
            while j + 1 < len(items) and j + 1 in doomed:
                j += 1
            start, end = items[i][0], items[j][1]
            if j + 1 < len(items):  # remove up to the next item: its comma goes along
                comma = self.next_token(end)
                nxt = items[j + 1][0]
                line_end = self.text.find("\n", comma.end) if comma is not None else -1
                if line_end != -1 and self.comment_between(
                    line_end, nxt
                ):  # keep own-line comments
                    stop = comma.end
                    while stop < len(self.text) and self.text[stop] in " \t":
                        stop += 1
                    edits.append(Edit(start, stop, ""))
                else:
                    edits.append(Edit(start, nxt, ""))
            elif i > 0:  # the last items: remove the comma before them
                comma = self.previous_token(start)
                if (
                    comma is not None
                    and comma.string == ","
                    and not self.comment_between(comma.start, start)
                ):
                    edits.append(Edit(comma.start, end, ""))
                else:
                    edits.append(Edit(start, end, ""))
            else:  # everything goes
                after = self.next_token(end)
                stop = after.end if after is not None and after.string == "," else end
                edits.append(Edit(start, stop, ""))
            i = j + 1
        return edits

    def call_items(self, call: ast.Call) -> list[ast.AST]:
        return sorted(
            [*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset)
        )

    # -- the walk --

    def run(self) -> None:
        self.visit(self.tree)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        start, end = self.span(node)
        new_module = collapse(node.module)
        module = canonical(node.module)
        gone = all(canonical(f"{node.module}.{a.name}") in GONE for a in node.names)
        if (
            new_module != node.module and not gone
        ):  # a move that would not make the import work
            first = self.next_token(self.next_token(start).end)  # after `from`
            last = first
            tok_index = self.tokens.index(first)
            while self.tokens[tok_index + 1].string != "import":
                tok_index += 1
                last = self.tokens[tok_index]
            self.change(
                _module_rule(node.module),
                first.start,
                [Edit(first.start, last.end, new_module)],
                f"{node.module} -> {new_module}",
            )
        if module is None:
            return
        names = {a.name for a in node.names}
        aliases = [a for a in node.names if a.name != "*"]
        items = [self.span(a) for a in aliases]
        doomed: set[int] = set()
        for index, alias in enumerate(aliases):
            full = canonical(f"{module}.{alias.name}")
            a_start = items[index][0]
            if full in RENAMED:
                new = RENAMED[full]
                if new in names and alias.asname is None and len(aliases) > 1:
                    doomed.add(index)  # `import LSTM, CuDNNLSTM`: one LSTM is enough
                else:
                    self.change(
                        alias.name,
                        a_start,
                        [Edit(a_start, a_start + len(alias.name), new)],
                        f"{alias.name} -> {new}",
                    )
            elif full in GONE:
                self.warn(
                    alias.name,
                    a_start,
                    f"{node.module}.{alias.name} is gone in Keras 3",
                    GONE[full],
                )
            elif module == "keras.utils" and alias.name == "np_utils":
                self.np_utils_import(node, alias, a_start, len(aliases))
        if doomed:  # one change: the deletions share commas
            dropped = [aliases[i].name for i in sorted(doomed)]
            self.change(
                dropped[0],
                items[min(doomed)][0],
                self.delete_items(items, doomed),
                ", ".join(dropped)
                + " -> (dropped: the Keras 3 name is imported already)",
            )

    def np_utils_import(
        self, node: ast.ImportFrom, alias: ast.alias, a_start: int, count: int
    ) -> None:
        """`from keras.utils import np_utils`: Keras 3 has keras.utils.to_categorical."""
        local = alias.asname or alias.name
        uses = [n for n in self.nodes if isinstance(n, ast.Name) and n.id == local]
        attrs = [self.parents.get(n) for n in uses]
        plain = all(
            isinstance(a, ast.Attribute)
            and a.value is n
            and a.attr in ("to_categorical", "normalize")
            for a, n in zip(attrs, uses)
        )
        wanted = (
            sorted({a.attr for a in attrs if isinstance(a, ast.Attribute)})
            if plain
            else []
        )
        # Handles are not in the tree; one that says np_utils needs the name to stay.
        in_handles = any(
            re.search(rf"\b{local}\b", self.text[s:e]) for s, e in self.handle_spans
        )
        if (
            plain
            and wanted
            and alias.asname is None
            and count == 1
            and not (set(wanted) & self.bound)
            and not in_handles
        ):
            edits = [Edit(a_start, a_start + len(alias.name), ", ".join(wanted))]
            for attribute in attrs:
                start, end = self.span(attribute)
                edits.append(Edit(start, end - len(attribute.attr), ""))
            self.change(
                "np_utils",
                a_start,
                edits,
                f"np_utils.{wanted[0]} -> keras.utils.{wanted[0]}",
            )
        elif count == 1 and alias.asname is None:
            start, end = self.span(node)
            module = node.module[: -len(".utils")]
            self.change(
                "np_utils",
                a_start,
                [Edit(start, end, f"from {module} import utils as np_utils")],
                "keras.utils.np_utils -> keras.utils",
            )
        else:
            self.warn(
                "np_utils",
                a_start,
                "Keras 3 has no keras.utils.np_utils",
                "import what you use from keras.utils: from keras.utils import to_categorical",
            )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            new = collapse(alias.name)
            if new != alias.name:
                start, _ = self.span(alias)
                self.change(
                    _module_rule(alias.name),
                    start,
                    [Edit(start, start + len(alias.name), new)],
                    f"{alias.name} -> {new}",
                )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parent = self.parents.get(node)
        base = self.qualify(node.value)
        if (
            base is not None
            and isinstance(parent, ast.Attribute)
            and parent.value is node
        ):
            if (base == "keras.layers" and node.attr in LAYER_SUBMODULES) or (
                base == "keras.utils" and node.attr in UTILS_SUBMODULES
            ):
                _, end = self.span(node)
                _, value_end = self.span(node.value)
                self.change(
                    f"{base}.{node.attr}",
                    value_end,
                    [Edit(value_end, end, "")],
                    f"{base}.{node.attr} -> {base}",
                )
        elif base is not None and not (
            isinstance(parent, ast.Call) and parent.func is node
        ):
            self.rename_use(node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        parent = self.parents.get(node)
        if isinstance(node.ctx, ast.Load) and not (
            isinstance(parent, ast.Call) and parent.func is node
        ):
            self.rename_use(node)

    def rename_use(self, node: ast.expr) -> None:
        """A use of a renamed class that is not a call (a call is handled with its arguments)."""
        full = self.qualify(node)
        name = node.attr if isinstance(node, ast.Attribute) else node.id
        if full in RENAMED and full.rsplit(".", 1)[1] == name:
            start, end = self.name_span(node)
            self.change(
                name,
                start,
                [Edit(start, end, RENAMED[full])],
                f"{name} -> {RENAMED[full]}",
            )

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if (
            isinstance(key, ast.Constant)
            and key.value in HISTORY_KEYS
            and _is_history(node.value)
        ):
            self.history_key(key)
        self.generic_visit(node)

    def history_key(self, key: ast.Constant) -> None:
        start, end = self.span(key)
        old, new = key.value, HISTORY_KEYS[key.value]
        spelled = re.fullmatch(r"([rRuU]?)(['\"])" + old + r"\2", self.text[start:end])
        if (
            self.metric_key == "accuracy" and spelled
        ):  # not 'val_' 'acc' or other spellings of it
            literal = spelled.group(1) + spelled.group(2) + new + spelled.group(2)
            self.change(
                f"'{old}'", start, [Edit(start, end, literal)], f"'{old}' -> '{new}'"
            )
        elif self.metric_key is None:
            self.warn(
                f"'{old}'",
                start,
                f"history key '{old}': Keras 3 names it after compile()'s metrics=",
                f"with metrics=['accuracy'] the key is '{new}'; with metrics=['acc'] it stays '{old}'",
            )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        full = self.qualify(func)
        if full is not None:
            self.keras_call(node, full)
        elif isinstance(func, ast.Attribute):
            self.method_call(node, func)
        for keyword in node.keywords:
            if (
                keyword.arg == "monitor"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value in HISTORY_KEYS
            ):
                self.history_key(keyword.value)
        self.generic_visit(node)

    def keras_call(self, node: ast.Call, full: str) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id
        short = full.rsplit(".", 1)[1]
        start, end = self.name_span(func)
        edits: list[Edit] = []
        description = ""
        if full in RENAMED and short == name:
            edits.append(Edit(start, end, RENAMED[full]))
            description = f"{name} -> {RENAMED[full]}"
        dims = SPLIT_KERNEL.get(full)
        if dims:  # even under another name: Conv2D(32, 3, 3) would mean strides=3
            args = node.args
            if any(isinstance(a, (ast.Tuple, ast.List)) for a in args[1:2]):
                pass  # Keras 2's Convolution2D(32, (3, 3), ...): already a kernel_size tuple
            elif len(args) == dims + 1 and not any(
                isinstance(a, ast.Starred) for a in args
            ):
                first, last = self.span(args[1])[0], self.span(args[-1])[1]
                edits += [Edit(first, first, "("), Edit(last, last, ")")]
                new = RENAMED[full] if short == name else name
                description = f"{name}(n, {', '.join('rck'[:dims])}) -> {new}(n, ({', '.join('rck'[:dims])}))"
            elif len(args) > 2:
                self.warn(
                    short,
                    start,
                    f"{name} with {len(args)} positional arguments",
                    f"Keras 3's {RENAMED[full]} takes (filters, kernel_size, strides, ...): "
                    "put the kernel sizes in one tuple and pass the rest by keyword",
                )
        if edits:
            self.change(short, start, edits, description)
        if full in GONE:
            start, _ = self.span(func)
            self.warn(short, start, f"{short}() is gone in Keras 3", GONE[full])
        layer = RENAMED.get(full, short) if full.startswith("keras.layers.") else None
        if layer in LAYER_KEYWORDS:
            self.layer_keywords(node, layer)
        if full.startswith("keras.optimizers.") and short in OPTIMIZERS:
            self.optimizer(node, short)
        if full in DATASET_KEYWORDS:
            for keyword in node.keywords:
                if keyword.arg in DATASET_KEYWORDS[full]:
                    self.rename_keyword(keyword, DATASET_KEYWORDS[full][keyword.arg])
                elif (
                    keyword.arg == "test_split"
                    and full == "keras.datasets.imdb.load_data"
                ):
                    self.warn(
                        "test_split=",
                        self.pos.offset(keyword.lineno, keyword.col_offset),
                        "Keras 3's imdb.load_data ignores test_split= without a word",
                        "the split is IMDB's own 25,000/25,000; concatenate and split the arrays yourself",
                    )

    def rename_keyword(
        self, keyword: ast.keyword, new: str, rule: str | None = None
    ) -> None:
        start = self.pos.offset(keyword.lineno, keyword.col_offset)
        if self.text[start : start + len(keyword.arg)] != keyword.arg:
            return  # not where we expect it; never guess
        self.change(
            rule or f"{keyword.arg}=",
            start,
            [Edit(start, start + len(keyword.arg), new)],
            f"{keyword.arg}= -> {new}=",
        )

    def layer_keywords(self, node: ast.Call, layer: str) -> None:
        table = LAYER_KEYWORDS[layer]
        present = {k.arg for k in node.keywords}
        for keyword in node.keywords:
            new = table.get(keyword.arg)
            start = self.pos.offset(keyword.lineno, keyword.col_offset)
            if new is not None:
                if new in present:
                    self.warn(
                        f"{keyword.arg}=",
                        start,
                        f"both {keyword.arg}= and {new}= are given",
                        f"keep {new}= only",
                    )
                else:
                    self.rename_keyword(keyword, new)
            elif keyword.arg == "dim_ordering" and layer in DATA_FORMAT_LAYERS:
                value = keyword.value
                if isinstance(value, ast.Constant) and value.value in DIM_ORDERING:
                    _, end = self.span(value)
                    self.change(
                        "dim_ordering=",
                        start,
                        [
                            Edit(
                                start, end, f"data_format='{DIM_ORDERING[value.value]}'"
                            )
                        ],
                        f"dim_ordering='{value.value}' -> data_format='{DIM_ORDERING[value.value]}'",
                    )
                else:
                    self.warn(
                        "dim_ordering=",
                        start,
                        "Keras 3 has no dim_ordering=",
                        "use data_format='channels_last' (was 'tf') or 'channels_first' (was 'th')",
                    )
            elif keyword.arg in ("nb_row", "nb_col", "nb_conv_dim"):
                self.warn(
                    f"{keyword.arg}=",
                    start,
                    f"Keras 3 has no {keyword.arg}=",
                    "pass kernel_size=(rows, cols) instead of nb_row= and nb_col=",
                )

    def optimizer(self, node: ast.Call, name: str) -> None:
        keywords = {k.arg: k for k in node.keywords}
        lr = keywords.get("lr")
        if lr is not None:
            if "learning_rate" in keywords:
                self.warn(
                    "lr=",
                    self.pos.offset(lr.lineno, lr.col_offset),
                    "both lr= and learning_rate= are given",
                    "keep learning_rate= only",
                )
            else:
                self.rename_keyword(lr, "learning_rate")
        decay = keywords.get("decay")
        if decay is None:
            return
        start = self.pos.offset(decay.lineno, decay.col_offset)
        if (
            isinstance(decay.value, ast.Constant)
            and decay.value.value == 0
            and not isinstance(decay.value.value, bool)
        ):
            items = [self.span(i) for i in self.call_items(node)]
            index = self.call_items(node).index(decay)
            self.change(
                "decay=",
                start,
                self.delete_items(items, {index}),
                "decay=0 -> (dropped)",
            )
            return
        rate = lr or keywords.get("learning_rate")
        rate_text = (
            self.source(rate.value)
            if rate is not None
            else (
                self.source(node.args[0])
                if node.args
                else DEFAULT_LR.get(name, "0.001")
            )
        )
        rate_text, decay_text = " ".join(rate_text.split()), " ".join(
            self.source(decay.value).split()
        )
        self.warn(
            "decay=",
            start,
            f"Keras 3 ignores {name}(decay=...) with only a warning, which silently changes training",
            f"use learning_rate=keras.optimizers.schedules.InverseTimeDecay({rate_text}, decay_steps=1, "
            f"decay_rate={decay_text}), Keras 2's lr / (1 + decay * step)",
        )

    def method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        method = func.attr
        items = self.call_items(node)
        spans = [self.span(i) for i in items]
        doomed: set[int] = set()
        dropped: list[str] = []
        if method in GENERATOR_METHODS:
            start, end = self.name_span(func)
            self.change(
                method,
                start,
                [Edit(start, end, GENERATOR_METHODS[method])],
                f"{method} -> {GENERATOR_METHODS[method]}",
            )
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            start = self.pos.offset(keyword.lineno, keyword.col_offset)
            if keyword.arg == "nb_epoch" and method in ("fit", "fit_generator"):
                self.rename_keyword(keyword, "epochs")
            elif keyword.arg == "generator" and method in GENERATOR_METHODS:
                self.rename_keyword(keyword, "x")
            elif keyword.arg == "class_mode" and method == "compile":
                doomed.add(
                    items.index(keyword)
                )  # Keras 0's; Keras 3's compile() would reject it
                dropped.append("class_mode")
            elif keyword.arg == "show_accuracy" and method in SHOW_ACCURACY_METHODS:
                doomed.add(items.index(keyword))
                dropped.append("show_accuracy")
                if not self.has_metrics:
                    self.warn(
                        "show_accuracy=",
                        start,
                        "show_accuracy= is dropped; Keras 3 reports accuracy only "
                        "when compile() asks for it",
                        "add metrics=['accuracy'] to model.compile(...)",
                    )
            elif keyword.arg in QUEUE_KEYWORDS and method in GENERATOR_METHODS:
                doomed.add(items.index(keyword))
                dropped.append(keyword.arg)
                self.warn(
                    f"{keyword.arg}=",
                    start,
                    f"{keyword.arg}= is dropped: Keras 3's {GENERATOR_METHODS[method]}() "
                    "has no queue settings",
                    "pass workers=, use_multiprocessing= and max_queue_size= to "
                    "your keras.utils.PyDataset's __init__ instead",
                )
            elif keyword.arg in SAMPLE_KEYWORDS and method in GENERATOR_METHODS:
                self.warn(
                    f"{keyword.arg}=",
                    start,
                    f"Keras 1's {keyword.arg}= counts samples; Keras 3 counts batches",
                    f"use {SAMPLE_KEYWORDS[keyword.arg]}=<samples> // <batch size>",
                )
        if doomed:
            first = min(spans[i][0] for i in doomed)
            self.change(
                dropped[0] + "=",
                first,
                self.delete_items(spans, doomed),
                ", ".join(f"{d}=" for d in dropped) + " -> (dropped)",
            )
        if method == "predict_classes":
            self.predict_classes(node, func)

    def predict_classes(self, node: ast.Call, func: ast.Attribute) -> None:
        start, end = self.span(node)
        name_start, name_end = self.name_span(func)
        if self.categorical and self.numpy:
            self.change(
                "predict_classes",
                name_start,
                [
                    Edit(start, start, f"{self.numpy}.argmax("),
                    Edit(name_start, name_end, "predict"),
                    Edit(end, end, ", axis=-1)"),
                ],
                f"m.predict_classes(x) -> {self.numpy}.argmax(m.predict(x), axis=-1)",
            )
        else:
            why = (
                "numpy is not imported"
                if self.categorical
                else "the loss does not say the model is multi-class"
            )
            self.warn(
                "predict_classes",
                name_start,
                f"Keras 3 has no predict_classes() ({why})",
                "use np.argmax(model.predict(x), axis=-1) for a softmax output, or "
                "(model.predict(x) > 0.5).astype('int32') for one sigmoid unit",
            )


# --- Small analyses of the whole file ----------------------------------------------


def _tokens(text: str) -> list[_Token]:
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)]
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
        if tok.type == tokenize.ENDMARKER:
            break
        (l1, c1), (l2, c2) = tok.start, tok.end
        if l1 > len(starts) or l2 > len(starts):
            continue  # DEDENT/NEWLINE past the last line
        out.append(
            _Token(tok.type, tok.string, starts[l1 - 1] + c1, starts[l2 - 1] + c2)
        )
    return out


def _bindings(nodes: list[ast.AST]) -> tuple[dict[str, str], list[str], set[str]]:
    """Imported names and what they stand for, star-imported modules, and names the file binds itself."""
    origins: dict[str, str] = {}
    stars: list[str] = []
    bound: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    origins[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    origins[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    stars.append(node.module)
                else:
                    origins[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return origins, stars, bound


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _metric_spelling(compiles: list[ast.Call]) -> str | None:
    """How compile() spells accuracy: Keras 3 names history keys after it.

    "accuracy": Keras 2.2 logged it as 'acc', Keras 3 as 'accuracy', so 'acc' keys
    need rewriting. "acc": the keys stay 'acc'. None: cannot tell.
    """
    spellings = set()
    for call in compiles:
        metrics = _keyword(call, "metrics")
        if metrics is None:
            continue
        if not isinstance(metrics, (ast.List, ast.Tuple)):
            return None
        for item in metrics.elts:
            if isinstance(item, ast.Constant) and item.value in ("acc", "accuracy"):
                spellings.add(item.value)
    return spellings.pop() if len(spellings) == 1 else None


def _all_categorical(compiles: list[ast.Call]) -> bool:
    """Every compile() uses a categorical cross-entropy loss: outputs are softmax-like."""
    losses = []
    for call in compiles:
        loss = _keyword(call, "loss")
        if loss is None and len(call.args) >= 2:
            loss = call.args[1]
        losses.append(loss)
    return bool(losses) and all(
        isinstance(x, ast.Constant) and x.value in CATEGORICAL_LOSSES for x in losses
    )


def _numpy_name(tree: ast.Module) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "numpy":
                    return alias.asname or "numpy"
    return None


def _is_history(node: ast.expr) -> bool:
    """`x.history[...]`, `history[...]`, `hist[...]`: where Keras's History dict usually is."""
    if isinstance(node, ast.Attribute):
        return node.attr == "history"
    return isinstance(node, ast.Name) and "hist" in node.id.lower()


def collapse(module: str) -> str:
    """A Keras 1/2 module path in Keras 3's spelling: keras.layers.core -> keras.layers."""
    parts = module.split(".")
    for i in range(1, len(parts) - 1):
        if parts[i - 1] == "keras" and _keras_root(parts[: i - 1]):
            if (parts[i] == "layers" and parts[i + 1] in LAYER_SUBMODULES) or (
                parts[i] == "utils" and parts[i + 1] in UTILS_SUBMODULES
            ):
                return ".".join(parts[: i + 1])
    return module


def _keras_root(prefix: list[str]) -> bool:
    return prefix in ([], ["tensorflow"])


def canonical(dotted: str) -> str | None:
    """`tensorflow.keras.layers.core.Dense` -> `keras.layers.Dense`; None when not Keras."""
    if dotted.startswith("tensorflow.keras"):
        dotted = dotted[len("tensorflow.") :]
    if dotted != "keras" and not dotted.startswith("keras."):
        return None
    parts = dotted.split(".")
    if len(parts) >= 3 and parts[1] in ("layers", "utils"):
        subs = LAYER_SUBMODULES if parts[1] == "layers" else UTILS_SUBMODULES
        rest = [p for p in parts[2:] if p not in subs]
        parts = parts[:2] + rest[-1:] if len(rest) < len(parts) - 2 else parts
    return ".".join(parts)


def _known(name: str) -> bool:
    short = name.rsplit(".", 1)[-1]
    return (
        name in RENAMED
        or name in GONE
        or short in LAYER_KEYWORDS
        or short in OPTIMIZERS
        or name.startswith("keras.layers.")
        or name.startswith("keras.optimizers.")
    )


def _module_rule(module: str) -> str:
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part in LAYER_SUBMODULES or part in UTILS_SUBMODULES:
            return ".".join(parts[max(i - 2, 0) : i + 1]).removeprefix("tensorflow.")
    return module


# --- Stage 2: apply ---------------------------------------------------------------------


def apply(text: str, changes: list[Change]) -> str:
    """Splice every change's edits into `text`. Edits must not overlap."""
    edits = sorted(
        (e for c in changes for e in c.edits), key=lambda e: (e.start, e.end)
    )
    out, position = [], 0
    for edit in edits:
        if edit.start < position:
            raise AssertionError(f"overlapping upgrade edits at offset {edit.start}")
        out.append(text[position : edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out)


def upgrade_text(text: str) -> tuple[str, Plan]:
    """The upgraded text and what was found. Raises CompileError for input that is not Python."""
    plan = find(text)
    new = apply(text, plan.changes)
    if new != text:
        _check_result(text, new)
    return new, plan


def _check_result(old: str, new: str) -> None:
    """The result still parses and keeps every handle as it was: never write broken code."""
    before = [h.inner for h in scan(old)]
    try:
        after = scan(new)
        ast.parse(substitute(new, after))
    except (CompileError, SyntaxError) as exc:
        raise AssertionError(
            f"hyperasc upgrade produced code that does not parse: {exc}"
        ) from None
    if [h.inner for h in after] != before:
        raise AssertionError("hyperasc upgrade changed a handle")


# --- Files: Python and notebooks ------------------------------------------------------


@dataclass
class Part:
    """One piece of a model file that was upgraded: the whole .py file, or one notebook cell."""

    label: (
        str | None
    )  # None for a .py file, "cell_4" for a notebook cell (counted from 1)
    before: str
    after: str
    plan: Plan


@dataclass
class FileUpgrade:
    data: bytes  # the file's new bytes
    parts: list[Part]

    @property
    def changed(self) -> bool:
        return any(p.before != p.after for p in self.parts)


class UpgradeError(Exception):
    """The file cannot be upgraded: `label` names the cell, diagnostics say where."""

    def __init__(self, label: str | None, text: str, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message if diagnostics else "cannot upgrade")
        self.label, self.text, self.diagnostics = label, text, diagnostics


def upgrade_file(path: str, data: bytes) -> FileUpgrade:
    """Upgrade a model file's bytes; notebooks by their code cells."""
    if path.endswith(".ipynb"):
        return _upgrade_notebook(data)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data[len(bom) :].decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise UpgradeError(
            None, "", [Diagnostic(1, 1, f"cannot decode the file: {exc}")]
        ) from None
    try:
        new, plan = upgrade_text(text)
    except CompileError as exc:
        raise UpgradeError(None, text, exc.diagnostics) from None
    out = (
        data
        if new == text
        else bom + new.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    )
    return FileUpgrade(out, [Part(None, text, new, plan)])


def _mask_ipython(source: str) -> str:
    """IPython lines (those notebook.ipython_kinds names) become same-width Python, so positions hold."""
    lines = source.split("\n")
    for index, (line, kind) in enumerate(zip(lines[:], ipython_kinds(lines))):
        if kind == "capture":
            # `x = !ls` -> `x = 0#s`: a value, then a comment, the same width.
            at = capture_sign(line)
            lines[index] = (
                line[:at] + ("0#" if at + 1 < len(line) else "0") + line[at + 2 :]
            )
        elif kind == "help" and not line.lstrip().startswith("?"):
            # `obj?` and `obj??` ask for help: blank the question marks.
            body = line.rstrip()
            marks = len(body) - len(body.rstrip("?"))
            lines[index] = body[:-marks] + " " * marks + line[len(body) :]
        elif kind is not None:  # `%magic`, `!shell`, `?obj`: a comment
            indent = len(line) - len(line.lstrip())
            lines[index] = line[:indent] + "#" + line[indent + 1 :]
    return "\n".join(lines)


def _cell_of(
    chosen: list, joined: str, diagnostics: list[Diagnostic]
) -> tuple[str | None, str, list[Diagnostic]]:
    """An error in the joined text, told against its cell."""
    first = diagnostics[0]
    for number, cell, _masked, start in reversed(chosen):
        before = joined.count("\n", 0, start)
        if first.line > before:
            moved = [dataclasses.replace(d, line=d.line - before) for d in diagnostics]
            return label(number), cell.source, moved
    return None, joined, diagnostics


def _upgrade_notebook(data: bytes) -> FileUpgrade:
    try:
        import nbformat
    except ImportError:
        raise UpgradeError(
            None,
            "",
            [
                Diagnostic(
                    1,
                    1,
                    "upgrading notebooks needs nbformat",
                    "pip install 'hyperasc[notebook]'",
                )
            ],
        ) from None
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
        cells = notebook.cells
    except Exception as exc:  # nbformat raises several error types for bad notebooks
        raise UpgradeError(
            None, "", [Diagnostic(1, 1, f"not a readable notebook: {exc}")]
        ) from None
    # One text of all code cells, so that an import in one cell explains a name in another.
    chosen = []  # (cell number, cell, masked source, offset in the joined text)
    offset = 0
    for number, cell in enumerate(cells, start=1):
        if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):
            continue  # a cell magic: not Python
        masked = _mask_ipython(cell.source)
        chosen.append((number, cell, masked, offset))
        offset += len(masked) + 1
    joined = "\n".join(c[2] for c in chosen)
    try:
        plan = find(joined)
    except CompileError as exc:
        raise UpgradeError(*_cell_of(chosen, joined, exc.diagnostics)) from None
    if plan.changes:
        _check_result(joined, apply(joined, plan.changes))
    parts = []
    line_starts = [
        joined.count("\n", 0, c[3]) for c in chosen
    ]  # lines before each cell
    for index, (number, cell, masked, start) in enumerate(chosen):
        end = start + len(masked)
        first_line, last_line = (
            line_starts[index] + 1,
            line_starts[index] + masked.count("\n") + 1,
        )
        changes = []
        for (
            change
        ) in (
            plan.changes
        ):  # a change may reach into several cells (an import and its uses)
            edits = tuple(
                Edit(e.start - start, e.end - start, e.text)
                for e in change.edits
                if start <= e.start <= end
            )
            if edits:
                line = (
                    change.line - line_starts[index]
                    if first_line <= change.line <= last_line
                    else (
                        joined.count("\n", 0, edits[0].start + start)
                        - line_starts[index]
                        + 1
                    )
                )
                changes.append(dataclasses.replace(change, edits=edits, line=line))
        findings = [
            dataclasses.replace(f, line=f.line - line_starts[index])
            for f in plan.findings
            if first_line <= f.line <= last_line
        ]
        new = apply(cell.source, changes)
        parts.append(Part(label(number), cell.source, new, Plan(changes, findings)))
        cell.source = new
    if not any(p.before != p.after for p in parts):
        return FileUpgrade(data, parts)
    out = nbformat.writes(notebook)
    if data.endswith(b"\n") and not out.endswith("\n"):
        out += "\n"
    return FileUpgrade(out.encode("utf-8"), parts)


# --- The compile note -------------------------------------------------------------------


def compile_note(text: str, path: str) -> str | None:
    """One line for `hyperasc compile`: how many Keras 1/2 spellings, and the command that fixes them.

    Cheap when there is nothing to say (one regular expression); never raises.
    """
    if not _TRIGGERS.search(text):
        return None
    try:
        plan = find(text)
    except Exception:  # the note is a courtesy; the compiler has its own errors
        return None
    if not plan.count:
        return None
    rules = plan.rules()
    shown = ", ".join(rules[:3]) + (", ..." if len(rules) > 3 else "")
    plural = "s" if plan.count != 1 else ""
    target = "MODEL" if path in ("-", "<stdin>") else path
    if plan.changes:
        return (
            f"{path}: note: {plan.count} Keras 1/2 spelling{plural} ({shown}); "
            f"run: hyperasc upgrade {target} --in-place"
        )
    return (
        f"{path}: note: {plan.count} Keras 1/2 spelling{plural} that need a hand ({shown}); "
        f"run: hyperasc upgrade {target} --diff, for the Keras 3 way"
    )
