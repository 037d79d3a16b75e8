"""What a versioned module may import: only what the lock can see or the environment records.

A fingerprint covers a module's own source. Code it imports from the project (a helper file
with a constant or a SQL fragment) would change values without changing the fingerprint, so a
feature or population module may import only:

- the engine's public API (``featurelock``), whose source hash every manifest records;
- the standard library and installed packages (outside the project), whose versions the
  environment record and ``requirements.lock`` pin.

Anything else (a relative import, a module of the project's folders, a file inside the project,
a module that is not installed) is refused when the definitions load, before the module runs.
Imports are read statically from the source, and so are the calls that load code or data at run
time, which the lock cannot see either: ``importlib.import_module``, ``__import__``, ``exec``,
``eval``, ``compile``, ``open`` and the file and table readers (``read_text``, ``read_csv``, ...).
A module that makes one is refused at load (so by ``featurelock lock`` and plain ``feast apply``),
naming the call and its line.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import sysconfig
from pathlib import Path

from featurelock.core.errors import DefinitionError

ENGINE = "featurelock"
PROJECT_FOLDERS = ("features", "training", "serving", "feature_repo", "notebooks", "tests")


def _imported(tree: ast.Module) -> list[tuple[int, str, int]]:
    """(line, top-level module name, relative level) of every import statement, in source order."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0], 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, (node.module or "").split(".")[0], node.level))
    return sorted(out)


def _inside(root: Path, name: str) -> Path | None:
    """Where ``name`` would be imported from, if that is inside the project (None if outside)."""
    if name in PROJECT_FOLDERS or (root / name).is_dir() or (root / f"{name}.py").is_file():
        return root / name
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return Path("<not installed>")
    get_filename = getattr(spec.loader, "get_filename", None)  # the module's file, if it has one
    locations = [get_filename(name)] if get_filename is not None else []
    locations += list(spec.submodule_search_locations or [])
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, *sysconfig.get_paths().values())}
    for location in locations:
        resolved = Path(location).resolve()
        if resolved.is_relative_to(root) and not any(resolved.is_relative_to(p) for p in installed):
            return Path(location)  # a file of the project (a venv inside the project is not)
    return None


#: Calls that load code or data the fingerprint cannot cover (by name, or by attribute).
LOADING_NAMES = frozenset({"__import__", "exec", "eval", "compile", "open", "execfile"})
LOADING_ATTRIBUTES = frozenset(
    {
        "import_module",
        "reload",
        "spec_from_file_location",
        "module_from_spec",
        "exec_module",
        "run_path",
        "run_module",
        "read_text",
        "read_bytes",
        "open",
        "read_csv",
        "read_parquet",
        "read_json",
        "read_table",
        "read_sql",
        "read_excel",
        "read_pickle",
        "loadtxt",
        "genfromtxt",
        "fromfile",
        "urlopen",
    }
)


def _loading_calls(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, what) of every call that loads code or data at run time, in source order."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in LOADING_NAMES:
            out.append((node.lineno, f"{func.id}()"))
        elif isinstance(func, ast.Attribute) and func.attr in LOADING_ATTRIBUTES:
            out.append((node.lineno, f".{func.attr}()"))
    return sorted(out)


def check_imports(root: Path, path: Path, source: str) -> None:
    """Refuse an import the fingerprint of ``path`` could not cover (see the module doc)."""
    where = path.relative_to(root)
    try:
        tree = ast.parse(source, filename=str(where))
    except SyntaxError as exc:
        raise DefinitionError(f"{where}: line {exc.lineno}: invalid Python: {exc.msg}.") from exc
    for line, name, level in _imported(tree):
        if level == 0 and (name == ENGINE or name in sys.stdlib_module_names):
            continue
        found = None if level else _inside(root, name)
        if level == 0 and found is None:
            continue  # an installed package: pinned by requirements.lock, recorded in manifests
        what = f"a relative import (level {level})" if level else f"module {name!r} ({found})"
        raise DefinitionError(
            f"{where}: line {line} imports {what}, which the lock cannot see: an edit there would change "
            "this version's values without changing its fingerprint. A versioned module may import only "
            "`featurelock`, the standard library and installed packages; copy the constant or SQL into "
            "the module itself (as a new version if this one is locked)."
        )
    for line, call in _loading_calls(tree):
        raise DefinitionError(
            f"{where}: line {line} calls {call}, which loads code or data at run time that the lock "
            "cannot see: an edit there would change this version's values without changing its "
            "fingerprint. A versioned module holds its whole transformation; put the constant, SQL or "
            "code into the module itself (as a new version if this one is locked)."
        )
