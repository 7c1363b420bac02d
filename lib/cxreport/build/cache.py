"""The build cache: build keys, the manifest, and the reuse and keeping of earlier outputs.

What a report depends on, as one content hash: the basis of incremental builds.

A notebook's build key hashes everything its outputs are made from:

- the notebook file itself;
- the parameters the pipeline passes to it (after defaults, year file and
  overrides are merged), and the output formats;
- the inputs it reads (``requires`` and ``optional`` in its metadata), by
  content, never by timestamp: a file's SHA-256, a Parquet folder's part files
  (names, sizes, hashes), a database table's row count and checksum;
- the source of every ``cxreport`` module it imports, followed through the
  package's own imports (so editing ``revenue.py`` re-runs only the reports
  that use it), plus the renderer and its stylesheet and the installed
  versions of the packages that shape the output.

If the key stored with last build's outputs equals today's, the outputs are
reused as they are (:func:`reuse`); otherwise the notebook runs again. The
keys, the files each job produced, its headline figures and the input
verdict are recorded in the year's manifest (``OUT/<YEAR>/.build/manifest.json``,
not published). A report that is not built in a run keeps its earlier outputs
byte for byte (:func:`keep_previous`).
"""

from __future__ import annotations

import ast
import hashlib
import json
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

import nbformat

from . import stage

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # lib/cxreport
# Packages whose version changes what a report looks like or computes.
SHAPING_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "nbconvert", "papermill", "weasyprint",
                    "duckdb", "ibis-framework")


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


@cache
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


def _rendering_files() -> tuple[Path, ...]:
    """What turns an executed notebook into its pages: the renderer, the page frame, templates, styles and scripts."""
    templates = PACKAGE_DIR / "templates"
    shipped = sorted(p for p in templates.rglob("*") if p.is_file() and p.suffix in {".j2", ".css", ".js", ".json"})
    return (PACKAGE_DIR / "build" / "render.py", PACKAGE_DIR / "build" / "site.py", *shipped)


RENDERING_FILES = _rendering_files()


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


def build_key(notebook: Path, parameters: dict, data_files: list[Path], formats: tuple[str, ...],
              data_digests: dict[str, str | None] | None = None) -> str:
    """The content hash of everything a notebook's outputs depend on (see the module docstring).

    ``parameters`` must not contain run-specific paths (output folders) nor the engine;
    ``data_files`` that do not exist count as absent, so adding one changes the key.
    ``data_digests`` are the inputs' digests by input name, as validation took them
    (None: absent), for inputs that are no single file (a Parquet folder, a table).
    """
    data = {Path(p).name: (file_digest(p) if Path(p).is_file() else None) for p in sorted(data_files)}
    data.update({f"input:{name}": digest for name, digest in sorted((data_digests or {}).items())})
    parts = {
        "notebook": file_digest(notebook),
        "parameters": json.dumps(parameters, sort_keys=True, default=str),
        "formats": sorted(formats),
        "data": data,
        "modules": dict(_modules_digests(str(notebook), file_digest(notebook))),
        "rendering": [file_digest(p) for p in RENDERING_FILES],
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


# ----------------------------------------------------------------------------- the manifest and reuse
# Parameters that only say where this run writes or reads, or which engine computes (the figures are equal on
# DuckDB and Spark): not part of what a report depends on.
RUN_PATHS = ("data_dir", "tables_dir", "metrics_path", "metrics_dir", "out_dir", "run_db", "engine", "engine_url")
MANIFEST = Path(".build") / "manifest.json"
# What a job leaves beside its executed notebook (the log is kept with the outputs, never published).
OUTPUT_SUFFIXES = ("ipynb", "html", "pdf", "log")


def read_manifest(year_dir: Path) -> dict:
    """The manifest of the year's current build (empty when there is none or it is unreadable)."""
    path = Path(year_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def write_manifest(staging: Path, manifest: dict) -> None:
    (staging / MANIFEST).parent.mkdir(exist_ok=True)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str), encoding="utf-8")


def write_fragment(staging: Path, name: str, metrics: dict) -> None:
    """A report's headline figures, written as the report writes them (the summary's build key sees identical bytes)."""
    (staging / ".metrics" / f"{name}.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), encoding="utf-8")


def outputs_of(job: dict) -> list[str]:
    """Files (relative to the year folder) a finished job produced in the staging folder."""
    staging = Path(job["staging"])
    if job.get("unit"):
        folder = Path(job["out_dir"]).relative_to(staging)
        return [str(folder / f"{job['unit']}.{ext}") for ext in OUTPUT_SUFFIXES if (staging / folder / f"{job['unit']}.{ext}").exists()]
    files = [f"{job['name']}.{ext}" for ext in OUTPUT_SUFFIXES if (staging / f"{job['name']}.{ext}").exists()]
    return files + [f"tables/{p.name}" for p in sorted((staging / ".jobs" / job["name"] / "tables").glob("*.csv"))]


def reuse(job: dict, previous: dict, year_dir: Path, staging: Path, manifest: dict) -> bool:
    """Carry the job's earlier outputs into ``staging`` when its build key is unchanged; whether it did.

    Outputs are reused only when every file the earlier build recorded is
    still there; the job is then recorded in ``manifest`` as reused.
    """
    old = previous.get("jobs", {}).get(job["id"])
    if not (old and old.get("key") == job["key"] and all(stage.safe_file(year_dir, f) for f in old["files"])):
        return False
    for rel in old["files"]:
        stage.carry(year_dir, staging, rel)
    if old.get("metrics") is not None and not job.get("unit"):
        write_fragment(staging, job["name"], old["metrics"])
    manifest["jobs"][job["id"]] = {**old, "reused": True, "kept": False}
    return True


def previous_reports(year_dir: Path) -> dict[str, dict]:
    """The index entries of the year's current build, by notebook name (empty when there is none)."""
    try:
        run = json.loads((Path(year_dir) / "metrics.json").read_text(encoding="utf-8")).get("run", {})
    except (OSError, json.JSONDecodeError):
        return {}
    return {r["name"]: r for r in run.get("reports", []) if isinstance(r, dict) and "name" in r}


def keep_previous(name: str, reason: str, staging: Path, year_dir: Path, previous: dict,
                  reports: dict, manifest: dict) -> dict | None:
    """Carry a report's previous outputs into the new build unchanged; its index entry, marked kept, or None.

    None when the year holds no complete earlier build of that report (then
    there is nothing to keep). Files are copied byte for byte, with their
    metric fragment, so metrics.json and the summary still carry its figures.
    """
    jobs = {k: v for k, v in previous.get("jobs", {}).items() if k == name or k.startswith(name + "/")}
    jobs = {k: v for k, v in jobs.items() if not v.get("failed")}
    if not jobs or name not in reports:
        return None
    if not all(stage.safe_file(year_dir, rel) for v in jobs.values() for rel in v.get("files", [])):
        return None
    for job_id, old in jobs.items():
        for rel in old["files"]:
            stage.carry(year_dir, staging, rel)
        if old.get("metrics") is not None and job_id == name:
            write_fragment(staging, name, old["metrics"])
        manifest["jobs"][job_id] = {**old, "kept": True, "reused": False}
    first = next(iter(jobs.values()))
    entry = dict(reports[name])
    entry["kept"] = {"built_at": first.get("built_at", "an earlier build"), "data": first.get("data", "?"), "reason": reason}
    return entry
