"""Publishing a year's finished reports to a share or web folder, and starting a new year.

``publish_year`` copies what readers need (HTML, PDF, tables, workbook,
metrics, index pages, partner scorecards) to ``DEST/<YEAR>`` atomically: the
year is copied to a hidden folder beside it and swapped in with two renames,
so a reader never sees a half-copied year. Executed notebooks are not
published by default; when asked for, each is scanned first and a notebook
that still carries personal data stops the publication. A run that failed,
or a year that was never built, is refused.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

from .comments import EMAIL_PATTERN
from .pipeline import write_site_index

# Written phone numbers: optional +country code, optional (area), then two to four groups of
# 2-4 digits split by a space, dot or dash. Stricter than the redaction pattern, which masks
# any long digit run in a comment; a report's files are full of numbers that are not phones.
PHONE_IN_OUTPUT = r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,3}(?![\w])"
PUBLISHED_SUFFIXES = {".html", ".pdf", ".csv", ".xlsx", ".json", ".png", ".svg"}


class PublishError(RuntimeError):
    """The year cannot be published; the message says why."""


def personal_data_in(path: Path) -> list[str]:
    """E-mail addresses and phone numbers found in a text file (empty when clean).

    E-mail addresses use the redaction pattern of :mod:`cxreport.comments`;
    phone numbers a stricter one (:data:`PHONE_IN_OUTPUT`), see :func:`_looks_like_phone`.
    """
    text = Path(path).read_text(encoding="utf-8", errors="ignore")
    found = re.findall(EMAIL_PATTERN, text)
    found += [m.group(0) for m in re.finditer(PHONE_IN_OUTPUT, text) if _looks_like_phone(m.group(0))]
    return found


def _looks_like_phone(candidate: str) -> bool:
    """Tell a phone number from the numbers every report is full of.

    Redaction masks any long digit run in a comment (better safe), but a
    report's files hold decimals (``57.142857142857146``) and counts: here a
    phone needs a leading ``+`` or at least two separators (space, dash,
    bracket, dot) between at least nine digits, and is not a decimal, a date or a run of years.
    """
    c = candidate.strip()
    digits = sum(ch.isdigit() for ch in c)
    groups = re.findall(r"\d+", c)
    if re.fullmatch(r"\d+\.\d+", c) or re.search(r"\d{4}-\d{2}-\d{2}", c):
        return False  # a decimal, or a date
    if all(len(g) == 4 and 1900 <= int(g) <= 2100 for g in groups):
        return False  # a run of years, as in a trend table
    if c.startswith("+"):
        return digits >= 8
    return digits >= 9 and len(re.findall(r"[\s().-]+", c)) >= 2


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
    metrics = year_dir / "metrics.json"
    if not metrics.is_file():
        raise PublishError(f"{year_dir} holds no finished build (no metrics.json): run `make report YEAR={year}` first")
    run = json.loads(metrics.read_text(encoding="utf-8")).get("run", {})
    if run.get("failed"):
        raise PublishError(f"the {year} run recorded failures ({', '.join(run['failed'])}): fix them and rebuild before publishing")
    files = _files_to_publish(year_dir, include_notebooks)
    leaks = {}
    for path in files:
        if path.suffix in (".ipynb", ".html", ".csv", ".json"):
            found = personal_data_in(path)
            if found:
                leaks[str(path.relative_to(year_dir))] = len(found)
    if leaks:
        listed = ", ".join(f"{name} ({n})" for name, n in leaks.items())
        raise PublishError(f"personal data (e-mail addresses or phone numbers) found in: {listed}; nothing was published")

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / f".publishing-{year}-{uuid.uuid4().hex[:8]}"
    try:
        for path in files:
            target = staging / path.relative_to(year_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        final = dest / str(year)
        old = None
        if final.exists():
            old = dest / f".replaced-{year}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        staging.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
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
