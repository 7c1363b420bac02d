"""What a report depends on, as one content hash: the basis of incremental builds.

A notebook's build key hashes everything its outputs are made from:

- the notebook file itself;
- the parameters the pipeline passes to it (after defaults, year file and
  overrides are merged), and the output formats;
- the input files it reads (``requires`` and ``optional`` in its metadata),
  by content, never by timestamp;
- the source of every ``cxreport`` module it imports, followed through the
  package's own imports (so editing ``revenue.py`` re-runs only the reports
  that use it), plus the renderer and its stylesheet and the installed
  versions of the packages that shape the output.

If the key stored with last build's outputs equals today's, the outputs are
reused as they are; otherwise the notebook runs again.
"""

from __future__ import annotations

import ast
import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import nbformat

PACKAGE_DIR = Path(__file__).resolve().parent
# Packages whose version changes what a report looks like or computes.
SHAPING_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "nbconvert", "papermill", "weasyprint")


def _module_file(name: str) -> Path | None:
    """File of a ``cxreport`` module given its dotted name (package ``__init__`` included)."""
    rel = name.split(".")[1:]
    if not rel:
        return PACKAGE_DIR / "__init__.py"
    as_module = PACKAGE_DIR.joinpath(*rel).with_suffix(".py")
    as_package = PACKAGE_DIR.joinpath(*rel, "__init__.py")
    return as_module if as_module.is_file() else as_package if as_package.is_file() else None


def _imports(source: str, current: str | None = None) -> set[str]:
    """``cxreport`` modules named by the import statements in ``source``."""
    found = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"cxreport"}  # cannot tell: depend on the package root, hashed in full below
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cxreport"}
        elif isinstance(node, ast.ImportFrom):
            if node.level and current:  # relative import inside the package
                base = current.split(".")[: -node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "cxreport":
                continue
            found.add(module)
            # `from cxreport import survey` names a submodule, not an attribute.
            found |= {f"{module}.{a.name}" for a in node.names if _module_file(f"{module}.{a.name}")}
    return {m for m in found if _module_file(m)}


@lru_cache(maxsize=None)
def _module_deps(name: str) -> frozenset[str]:
    path = _module_file(name)
    # A module's own package name for relative imports: "cxreport.sample.survey" -> parent "cxreport.sample".
    current = name + (".__init__" if path and path.name == "__init__.py" else "")
    return frozenset(_imports(path.read_text(encoding="utf-8"), current)) if path else frozenset()


def modules_used(notebook: Path) -> set[str]:
    """Every ``cxreport`` module a notebook imports, directly or through other modules."""
    nb = nbformat.read(str(notebook), as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # Notebooks may hold IPython magics that are not Python: parse line by line on failure.
    todo = _imports(source) if _parses(source) else set().union(*(_imports(line) for line in source.splitlines()))
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parts = mod.split(".")
        todo |= {".".join(parts[:i]) for i in range(1, len(parts))}  # importing a.b runs a/__init__ too
        todo |= set(_module_deps(mod)) - seen
    return seen


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
        return True
    except SyntaxError:
        return False


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content (remembered per path, size and modification time within a run)."""
    st = Path(path).stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=256)
def _modules_digests(notebook: str, notebook_digest: str) -> tuple[tuple[str, str], ...]:
    return tuple((m, file_digest(_module_file(m))) for m in sorted(modules_used(Path(notebook))))


def build_key(notebook: Path, parameters: dict, data_files: list[Path], formats: tuple[str, ...]) -> str:
    """The content hash of everything a notebook's outputs depend on (see the module docstring).

    ``parameters`` must not contain run-specific paths (output folders);
    ``data_files`` that do not exist count as absent, so adding one changes the key.
    """
    parts = {
        "notebook": file_digest(notebook),
        "parameters": json.dumps(parameters, sort_keys=True, default=str),
        "formats": sorted(formats),
        "data": {Path(p).name: (file_digest(p) if Path(p).is_file() else None) for p in sorted(data_files)},
        "modules": dict(_modules_digests(str(notebook), file_digest(notebook))),
        "rendering": [file_digest(PACKAGE_DIR / "templates" / "report.css"), file_digest(PACKAGE_DIR / "render.py")],
        "versions": {pkg: _version(pkg) for pkg in SHAPING_PACKAGES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def tables_digest(tables_dir: Path) -> str:
    """One hash of every CSV table of a year (names and contents): the workbook's build key."""
    parts = {p.name: file_digest(p) for p in sorted(Path(tables_dir).glob("*.csv"))}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
