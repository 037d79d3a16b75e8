"""Fingerprints of feature versions: a hash of everything that affects their values.

The transformation is normalized before hashing, in a way that does not depend on the Python
minor version (``ast.dump``/``ast.unparse`` output changes between versions, and since 3.12
f-strings tokenize into several tokens):

- the module is tokenized with ``tokenize``; comments, blank lines and docstrings (any string
  that is a statement on its own) are dropped; indentation is kept as INDENT/DEDENT markers;
- f-strings are kept whole, as their source text (re-joined from the 3.12+ FSTRING_* tokens);
- plain string literals are compared by value (quote style does not matter); triple-quoted
  literals hold SQL and are normalized as SQL: comments dropped, whitespace collapsed outside
  quotes, and dropped around punctuation.

- imports of the engine's declaration API (``from featurelock import sql_feature``, from any
  engine module) normalize to the form the first versions were locked with
  (``from features.spec import ...``): where the decorator comes from is not part of a value, and
  versions locked before the engine became a package keep their fingerprints.

The fingerprint also covers name, version, kind, entity, logical source, dtype, ttl, view, the
view's grid SQL, request inputs, and the fingerprints of the feature versions it reads.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import tokenize
from collections.abc import Mapping
from datetime import timedelta

from featurelock.features.spec import FeatureSpec

NORMALIZER = "tokens-v1"
_PUNCT = set("(),;=<>+-*/|:[]{}.%!")
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_STRING_PREFIX = re.compile(r"^[a-zA-Z]*")


def normalize_sql(sql: str) -> str:
    """Drop SQL comments, collapse whitespace outside quotes, and drop it around punctuation."""
    out: list[str] = []
    i, n = 0, len(sql)
    pending_space = False
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote escape
                        end += 2
                        continue
                    break
                end += 1
            token = sql[i : end + 1]
            i = end + 1
        elif sql.startswith("--", i):
            while i < n and sql[i] != "\n":
                i += 1
            pending_space = True
            continue
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            i = n if close < 0 else close + 2
            pending_space = True
            continue
        elif ch.isspace():
            pending_space = True
            i += 1
            continue
        else:
            token = ch
            i += 1
        if pending_space and out and out[-1] not in _PUNCT and token not in _PUNCT:
            out.append(" ")
        pending_space = False
        out.append(token)
    return "".join(out)


def _string_value(text: str) -> str:
    prefix = _STRING_PREFIX.match(text).group(0).lower()  # type: ignore[union-attr]
    if "f" in prefix:
        return "f:" + text
    body = text[len(prefix) :]
    value = ast.literal_eval(text)
    if body.startswith(('"""', "'''")) and isinstance(value, str):
        return "sql:" + normalize_sql(value)
    return repr(value)


def _fstring_whole(tokens: list[tokenize.TokenInfo], start: int, lines: list[str]) -> tuple[str, int]:
    """Source text of the f-string starting at ``tokens[start]`` and the index after it."""
    depth, j = 0, start
    while True:
        if tokens[j].type == _FSTRING_START:
            depth += 1
        elif tokens[j].type == _FSTRING_END:
            depth -= 1
            if depth == 0:
                break
        j += 1
    (r0, c0), (r1, c1) = tokens[start].start, tokens[j].end
    if r0 == r1:
        text = lines[r0 - 1][c0:c1]
    else:
        text = lines[r0 - 1][c0:] + "".join(lines[r0 : r1 - 1]) + lines[r1 - 1][:c1]
    return text, j + 1


_ENGINE = "featurelock"
_CANONICAL_MODULE = [(tokenize.NAME, "features"), (tokenize.OP, "."), (tokenize.NAME, "spec")]


def _canonical_engine_imports(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``from featurelock[.x.y] import ...`` -> ``from features.spec import ...`` (see module doc)."""
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(items):
        if items[i] == (tokenize.NAME, "from") and i + 1 < len(items) and items[i + 1][1] == _ENGINE:
            j = i + 2
            while j + 1 < len(items) and items[j][1] == "." and items[j + 1][0] == tokenize.NAME:
                j += 2
            if j < len(items) and items[j] == (tokenize.NAME, "import"):
                out += [items[i], *_CANONICAL_MODULE]
                i = j
                continue
        out.append(items[i])
        i += 1
    return out


def normalize_source(source: str) -> list[str]:
    """The module's token stream, stable across formatting, comments, docstrings and Python 3.11+."""
    lines = source.splitlines(keepends=True)
    raw = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in _SKIP]
    items: list[tuple[int, str]] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            text, i = _fstring_whole(raw, i, lines)
            items.append((tokenize.STRING, "f:" + text))
            continue
        if tok.type == tokenize.STRING:
            items.append((tokenize.STRING, _string_value(tok.string)))
        elif tok.type == tokenize.INDENT:
            items.append((tok.type, "<INDENT>"))
        elif tok.type == tokenize.DEDENT:
            items.append((tok.type, "<DEDENT>"))
        elif tok.type == tokenize.NEWLINE:
            items.append((tok.type, "<NEWLINE>"))
        else:
            items.append((tok.type, tok.string))
        i += 1
    items = _canonical_engine_imports(items)
    # Drop statement-level strings (docstrings and other bare string statements).
    out: list[str] = []
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    i = 0
    while i < len(items):
        at_start = i == 0 or items[i - 1][0] in starts
        if at_start and items[i][0] == tokenize.STRING:
            j = i
            while j < len(items) and items[j][0] == tokenize.STRING:
                j += 1
            if j == len(items) or items[j][0] == tokenize.NEWLINE:
                i = j + 1
                continue
        out.append(items[i][1])
        i += 1
    return out


def fingerprint(spec: FeatureSpec, source: str, grid_sql: str | None, reads: Mapping[str, str]) -> str:
    """``sha256:<hex>`` of the normalized transformation and every value-affecting attribute."""
    payload = {
        "normalizer": NORMALIZER,
        "name": spec.name,
        "version": spec.version,
        "kind": spec.kind,
        "entity": spec.entity,
        "source": spec.source,
        "dtype": spec.dtype,
        "ttl_seconds": int(spec.ttl.total_seconds()),
        "view": spec.view,
        "inputs": list(spec.inputs),
        "grid": normalize_sql(grid_sql) if grid_sql is not None else None,
        "code": normalize_source(source),
        "reads": {ref: reads[ref] for ref in sorted(reads)},
    }
    if spec.per_row:  # only when set: the versions locked before it existed keep their fingerprints
        payload["per_row"] = True
    if spec.lookback is not None:  # likewise: only when declared
        payload["lookback_microseconds"] = spec.lookback // timedelta(microseconds=1)
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()
