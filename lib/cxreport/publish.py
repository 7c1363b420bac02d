"""Publishing a year's finished reports to a share or web folder, and starting a new year.

``publish_year`` copies what readers need (HTML, PDF, tables, workbook,
metrics, index pages, partner scorecards) to ``DEST/<YEAR>`` atomically: the
year is copied to a hidden folder beside it and swapped in with two renames
(:mod:`cxreport.build.stage`, the same code a build uses), so a reader never
sees a half-copied year. Executed notebooks are not
published by default; when asked for, each is scanned first and a notebook
that still carries personal data stops the publication. A run that failed,
or a year that was never built, is refused.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from . import privacy
from .build import stage
from .build.site import write_site_index

# Phone numbers in published files are found by the shared detector (libphonenumber on
# digit runs shaped like a phone, see cxreport.privacy); kept for callers that import it.
PHONE_IN_OUTPUT = privacy.PHONE_CANDIDATE_RE.pattern
# Files whose text is scanned before publishing (PDFs are rendered from the same notebooks as the HTML).
SCANNED_SUFFIXES = (".ipynb", ".html", ".csv", ".json", ".xlsx")
# What readers get. Never the per-notebook build logs (.log: local paths, kernel output), nor the
# executed notebooks unless asked for (--include-notebooks).
PUBLISHED_SUFFIXES = {".html", ".pdf", ".csv", ".xlsx", ".json", ".png", ".svg"}


class PublishError(RuntimeError):
    """The year cannot be published; the message says why."""


def personal_data_in(path: Path) -> list[privacy.Finding]:
    """Contact data in the text a reader sees in a published file (empty when clean).

    Uses :func:`cxreport.privacy.scan_file`: e-mail addresses, phone numbers
    (libphonenumber), IBANs (ISO 13616 checksum), card numbers (Luhn), profile URLs and
    handles, in the page text of HTML (no tags, styles, scripts, SVG or ``data:`` images)
    and the markdown and text outputs of notebooks. Findings hold kinds and positions,
    never values.
    """
    return privacy.scan_file(Path(path))


def _looks_like_phone(candidate: str) -> bool:
    """Whether a digit run is a phone number: libphonenumber (Presidio's PhoneRecognizer)
    finds one in it with a phone's shape, not a decimal, a date or a run of years."""
    return any(f.kind == "phone" for f in privacy.detect(candidate, kinds=("phone",)))


def _files_to_publish(year_dir: Path, include_notebooks: bool) -> list[Path]:
    files = []
    for path in sorted(year_dir.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(year_dir).parts):
            continue
        if path.suffix in PUBLISHED_SUFFIXES or (include_notebooks and path.suffix == ".ipynb"):
            files.append(path)
    return files


def publish_year(out_dir: Path, year: int, dest: Path, include_notebooks: bool = False) -> Path:
    """Copy ``OUT/<YEAR>`` to ``DEST/<YEAR>`` atomically and refresh ``DEST/index.html``.

    Refuses (``PublishError``) when the year was not built, when its run
    recorded failures, or when a file to publish contains an e-mail address
    or a phone number. Returns the published folder.
    """
    year_dir = Path(out_dir) / str(year)
    out_root, dest_root = Path(out_dir).resolve(), Path(dest).resolve()
    if dest_root == out_root or out_root in dest_root.parents:
        raise PublishError(f"--dest {dest} is inside the output folder {out_dir}: publishing there would overwrite "
                           "the build it copies from; choose a folder outside it")
    if dest_root in out_root.parents:
        raise PublishError(f"--dest {dest} holds the output folder {out_dir}: publishing there would mix the "
                           "published site with the builds; choose a folder beside it")
    metrics = year_dir / "metrics.json"
    if not metrics.is_file():
        raise PublishError(f"{year_dir} holds no finished build (no metrics.json): run `make report YEAR={year}` first")
    run = json.loads(metrics.read_text(encoding="utf-8")).get("run", {})
    if run.get("failed"):
        raise PublishError(f"the {year} run recorded failures ({', '.join(run['failed'])}): fix them and rebuild before publishing")
    files = _files_to_publish(year_dir, include_notebooks)
    leaks = {}
    for path in files:
        if path.suffix in SCANNED_SUFFIXES:
            found = personal_data_in(path)
            if found:
                leaks[path.relative_to(year_dir).as_posix()] = privacy.describe(found)
    if leaks:
        # Names the file and the kind of data, never the value: the message lands in logs.
        listed = "; ".join(f"{name}: {what}" for name, what in leaks.items())
        raise PublishError(f"personal data found in {listed}; nothing was published")

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    # The same staging and swap as a build (cxreport.build.stage): a failed copy leaves DEST/<YEAR> as it was.
    with stage.staged(dest, str(year), prefix=".publishing") as staging:
        for path in files:
            target = staging / path.relative_to(year_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        final = stage.swap_into_place(staging, dest / str(year), old_prefix=".replaced")
    write_site_index(dest)
    return final


def next_year_params(params_dir: Path, year: int, force: bool = False) -> Path:
    """Write ``params/<year>.yaml`` from the latest earlier year's file, years moved on.

    Every four-digit year in the previous file is moved on by the gap between
    the two years (``2020`` becomes ``2021``, ``2019`` becomes ``2020``);
    comments and layout are kept. Refuses to overwrite an existing file
    unless ``force``.
    """
    params_dir = Path(params_dir)
    target = params_dir / f"{year}.yaml"
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists already; edit it, or pass --force to write it again")
    earlier = sorted((int(p.stem), p) for p in params_dir.glob("*.yaml") if p.stem.isdigit() and int(p.stem) < year)
    if not earlier:
        text = f"# Parameters of the {year} reports (over params/defaults.yaml).\n"
    else:
        prev_year, prev_path = earlier[-1]
        gap = year - prev_year
        text = re.sub(r"\b(19|20)\d\d\b", lambda m: str(int(m.group(0)) + gap), prev_path.read_text(encoding="utf-8"))
    target.write_text(text, encoding="utf-8")
    return target
