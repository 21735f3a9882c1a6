"""What every family sees: the parsed file, its tokens, where handles are, and
what each name means where it is used. Families ask the context for spans and
turn them into Changes and Findings; they never touch the text themselves.
"""

from __future__ import annotations

import ast
import tokenize
from bisect import bisect_left
from functools import cached_property

from ..compile.scanner import Handle
from .core import Change, Edit, Finding, Positions, Token, tokens
from .names import (
    CATEGORICAL_LOSSES,
    LOSS_ALIASES,
    SHOW_ACCURACY_METHODS,
    canonical,
    known,
)
from .scope import Binding, Scopes

Item = Change | Finding


class Context:
    def __init__(
        self,
        text: str,
        tree: ast.Module,
        positions: Positions,
        handles: list[Handle],
        outer: Context | None = None,
        scopes: Scopes | None = None,
    ):
        self.text = text
        self.tree = tree
        self.pos = positions
        self.handles = handles
        self.outer = outer  # set for a handle's inside: the file's own context
        starts = positions.starts
        self.handle_spans = [
            (starts[h.start[0] - 1] + h.start[1], starts[h.end[0] - 1] + h.end[1])
            for h in handles
        ]
        self.nodes = list(ast.walk(tree))  # one walk; every family reuses it
        self.parents: dict[ast.AST, ast.AST] = {}
        self.by_type: dict[type, list[ast.AST]] = {}
        for node in self.nodes:
            self.by_type.setdefault(type(node), []).append(node)
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.scopes = scopes or Scopes(tree)
        self.handle_names = {h.placeholder: h for h in handles}
        self._tokens: list[Token] | None = None
        self._token_starts: list[int] = []
        self.memo: dict[str, object] = {}  # what one family works out for another

    def of(self, *kinds: type) -> list:
        """The nodes of these types, in walk order."""
        if len(kinds) == 1:
            return self.by_type.get(kinds[0], [])
        return [n for n in self.nodes if isinstance(n, kinds)]

    # -- what the whole file says (a handle's inside asks its file) --

    @cached_property
    def compiles(self) -> list[ast.Call]:
        if self.outer is not None:
            return self.outer.compiles
        return [
            n
            for n in self.of(ast.Call)
            if isinstance(n.func, ast.Attribute) and n.func.attr == "compile"
        ]

    @cached_property
    def adds_accuracy(self) -> ast.Call | None:
        """The one compile() call that gets metrics=['accuracy'] because Keras 1's
        show_accuracy=True asked for it (Keras 3 reports accuracy only when asked)."""
        if self.outer is not None:
            return self.outer.adds_accuracy
        asked = any(
            isinstance(n.func, ast.Attribute)
            and n.func.attr in SHOW_ACCURACY_METHODS
            and any(
                k.arg == "show_accuracy"
                and isinstance(k.value, ast.Constant)
                and k.value.value is True
                for k in n.keywords
            )
            for n in self.of(ast.Call)
        )
        if not asked or len(self.compiles) != 1:
            return None
        call = self.compiles[0]
        if any(k.arg is None or k.arg == "metrics" for k in call.keywords):
            return None
        if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > 2:
            return None
        return call

    @cached_property
    def logged(self) -> set[str] | None:
        """The metric names Keras 3 logs (compile()'s strings, or a function's name); None: cannot tell."""
        if self.outer is not None:
            return self.outer.logged
        names: set[str] = set()
        for call in self.compiles:
            metrics = keyword_value(call, "metrics")
            if metrics is None:
                continue
            if not isinstance(metrics, (ast.List, ast.Tuple)):
                return None
            for item in metrics.elts:
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    names.add(item.value)
                    continue
                full = self.qualify(item) or ""
                short = full.rsplit(".", 1)[-1]
                if not full.startswith(("keras.metrics.", "keras.losses.")):
                    return None
                names.add(LOSS_ALIASES.get(short, short))
        if not names and self.adds_accuracy is not None:
            names.add("accuracy")
        return names

    @cached_property
    def categorical(self) -> bool:
        """Every compile() uses a categorical cross-entropy loss: outputs are softmax-like."""
        losses = []
        for call in self.compiles:
            loss = keyword_value(call, "loss")
            if loss is None and len(call.args) >= 2:
                loss = call.args[1]
            losses.append(loss)
        return bool(losses) and all(
            isinstance(x, ast.Constant) and x.value in CATEGORICAL_LOSSES
            for x in losses
        )

    @cached_property
    def has_metrics(self) -> bool:
        return self.adds_accuracy is not None or any(
            keyword_value(c, "metrics") is not None for c in self.compiles
        )

    @cached_property
    def numpy(self) -> str | None:
        """The name the file imports numpy as, at the top."""
        if self.outer is not None:
            return self.outer.numpy
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "numpy":
                        return alias.asname or "numpy"
        return None

    # -- names --

    def binding(self, node: ast.AST, name: str | None = None) -> Binding | None:
        return self.scopes.resolve(node, name)

    def means(self, node: ast.AST, name: str, origin: str) -> bool:
        """`name`, used where `node` is, is the import of `origin` (numpy, say)."""
        found = self.binding(node, name)
        if found is None:
            return (
                name not in self.scopes.own_names()
                and self.scopes.hoisted(name) == origin
            )
        return found.origin == origin

    def qualify(self, node: ast.AST) -> str | None:
        """The canonical Keras name an expression stands for, via the file's imports; None if not Keras."""
        dotted = self.dotted(node)
        return canonical(dotted) if dotted else None

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            found = self.binding(node)
            if found is not None:
                return found.origin  # None for the file's own names
            if node.id in self.scopes.own_names():
                return (
                    None  # bound somewhere we cannot see from here: not ours to judge
                )
            hoisted = self.scopes.hoisted(node.id)
            if hoisted is not None:
                return hoisted
            for star in self.scopes.stars():
                candidate = canonical(f"{star}.{node.id}")
                if candidate and known(candidate):
                    return candidate
            return None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    # -- positions --

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.pos.offset(node.lineno, node.col_offset),
            self.pos.offset(node.end_lineno, node.end_col_offset, end=True),
        )

    def start(self, node: ast.AST) -> int:
        return self.pos.offset(node.lineno, node.col_offset)

    def source(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def name_span(self, node: ast.expr) -> tuple[int, int]:
        """The span of a Name, or of an Attribute's last name."""
        start, end = self.span(node)
        if isinstance(node, ast.Attribute):
            return end - len(node.attr), end
        return start, end

    def has_handle(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.handle_spans)

    def in_handle(self, node: ast.AST) -> bool:
        start, end = self.span(node)
        return self.has_handle(start, end)

    # -- making items --

    def change(self, rule: str, at: int, edits: list[Edit], description: str) -> Item:
        if any(self.has_handle(e.start, e.end) and e.end > e.start for e in edits):
            return self.warn(
                rule,
                at,
                f"{description}: not rewritten, a handle is in the way",
                "change it by hand",
            )
        line, column = self.pos.line_column(at)
        return Change(rule, line, column, tuple(edits), description)

    def warn(self, rule: str, at: int, message: str, hint: str | None = None) -> Item:
        line, column = self.pos.line_column(at)
        return Finding(rule, line, column, message, hint)

    def note(self, rule: str, at: int, message: str, hint: str | None = None) -> Item:
        line, column = self.pos.line_column(at)
        return Finding(rule, line, column, message, hint, severity="note")

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        while node is not None and not isinstance(node, ast.stmt):
            node = self.parents.get(node)
        return node

    def body_of(self, stmt: ast.stmt) -> list[ast.stmt]:
        """The statement list `stmt` is in."""
        parent = self.parents.get(stmt)
        for name in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(parent, name, None)
            if isinstance(body, list) and any(s is stmt for s in body):
                return body
        if isinstance(parent, ast.match_case):
            return parent.body
        return [stmt]

    def line_span(self, stmt: ast.stmt) -> tuple[int, int] | None:
        """The whole lines of a statement that is alone on them (a comment may follow),
        line break included; None when it shares a line."""
        start, end = self.span(stmt)
        line_start = self.text.rfind("\n", 0, start) + 1
        if self.text[line_start:start].strip():
            return None
        rest_end = self.text.find("\n", end)
        rest_end = len(self.text) if rest_end == -1 else rest_end + 1
        rest = self.text[end:rest_end].strip()
        if rest and not rest.startswith("#"):
            return None
        return line_start, rest_end

    def drop_statements(self, stmts: list[ast.stmt]) -> list[Edit] | None:
        """Edits that remove whole statements; a block left empty gets `pass`.
        None when one of them cannot go cleanly (it shares a line, a handle is in it).
        """
        edits: list[Edit] = []
        doomed = {id(s) for s in stmts}
        for stmt in stmts:
            if self.in_handle(stmt):
                return None
            body = self.body_of(stmt)
            emptied = all(id(s) in doomed for s in body)
            lines = self.line_span(stmt)
            if emptied and body[0] is stmt:
                start, end = self.span(stmt)
                edits.append(Edit(start, end, "pass"))
            elif lines is None:
                return None
            else:
                edits.append(Edit(lines[0], lines[1], ""))
        return edits

    def rename_imports(
        self, node: ast.ImportFrom, renames: dict[str, str], target: str | None = None
    ) -> list[Item]:
        """`from M import old` -> `from M import new as old` for each name in
        `renames`, so the file's own spelling keeps working (an `as` name is
        kept as it is). `target`, the module of the new names, is for the
        change's description."""
        out: list[Item] = []
        for alias in node.names:
            new = renames.get(alias.name)
            if new is None:
                continue
            start = self.start(alias)
            text = new if alias.asname else f"{new} as {alias.name}"
            edit = Edit(start, start + len(alias.name), text)
            where = f"{target}.{new}" if target else new
            out.append(
                self.change(
                    alias.name, start, [edit], f"{node.module}.{alias.name} -> {where}"
                )
            )
        return out

    def rename_keyword(
        self, keyword: ast.keyword, new: str, rule: str | None = None
    ) -> list[Item]:
        start = self.start(keyword)
        if self.text[start : start + len(keyword.arg)] != keyword.arg:
            return []  # not where we expect it; never guess
        return [
            self.change(
                rule or f"{keyword.arg}=",
                start,
                [Edit(start, start + len(keyword.arg), new)],
                f"{keyword.arg}= -> {new}=",
            )
        ]

    # -- tokens --

    @property
    def tokens(self) -> list[Token]:
        """The original text's tokens, made only when an edit needs commas or keywords."""
        if self._tokens is None:
            self._tokens = tokens(self.text)
            self._token_starts = [t.start for t in self._tokens]
        return self._tokens

    def token_at(self, offset: int) -> int:
        """The index of the first token that starts at or after offset."""
        return bisect_left(self.tokens and self._token_starts, offset)

    def next_token(self, offset: int) -> Token | None:
        """The first significant token starting at or after offset."""
        for tok in self.tokens[self.token_at(offset) :]:
            if tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
                return tok
        return None

    def previous_token(self, offset: int) -> Token | None:
        for tok in reversed(self.tokens[: self.token_at(offset)]):
            if tok.type not in (tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE):
                return tok
        return None

    def comment_between(self, start: int, end: int) -> bool:
        return any(
            t.type == tokenize.COMMENT
            for t in self.tokens[self.token_at(start) : self.token_at(end)]
        )

    def call_items(self, call: ast.Call) -> list[ast.AST]:
        return sorted(
            [*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset)
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
                if line_end != -1 and self.comment_between(line_end, nxt):
                    stop = comma.end  # keep own-line comments
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

    def drop_arguments(
        self, call: ast.Call, doomed: list[ast.AST], rule: str, description: str
    ) -> Item:
        """One change that removes some of a call's arguments (they share commas)."""
        items = self.call_items(call)
        spans = [self.span(i) for i in items]
        indexes = {items.index(d) for d in doomed}
        first = min(spans[i][0] for i in indexes)
        return self.change(rule, first, self.delete_items(spans, indexes), description)


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    for item in call.keywords:
        if item.arg == name:
            return item
    return None


def call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None
