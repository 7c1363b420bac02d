"""Staging folders and the atomic swap: the one implementation behind ``report`` and ``publish``.

A folder that readers see (``OUT/<YEAR>``, ``DEST/<YEAR>``) is never written
in place. Its new content is written into a hidden staging folder beside it
(:func:`new_staging`), and only when that is complete is it swapped in with two
renames (:func:`swap_into_place`). The guarantees:

- a failed or interrupted run never replaces nor deletes good outputs: the
  staging folder is removed (:func:`staged`) and the old folder is untouched;
- a reader never sees a half-written folder: each rename is atomic on one
  file system;
- if the second rename fails, the first is undone, so the old folder is back;
  a process killed between the two renames leaves the old folder under its
  ``.old-`` name, and :func:`recover_interrupted_swaps` (run by the next run
  before leftovers are removed) puts it back.

Files carried over unchanged (a kept or reused report) are copied with
:func:`carry`, byte for byte with their times, so kept reports stay identical.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from pathlib import Path

STAGING_PREFIX = ".staging"
OLD_PREFIX = ".old"


def _hidden(parent: Path, prefix: str, name: str) -> Path:
    return Path(parent) / f"{prefix}-{name}-{uuid.uuid4().hex[:8]}"


def new_staging(parent: Path, name: str, prefix: str = STAGING_PREFIX) -> Path:
    """Create and return an empty hidden folder ``parent/<prefix>-<name>-<random>`` to build ``parent/<name>`` in."""
    staging = _hidden(parent, prefix, name)
    staging.mkdir(parents=True)
    return staging


@contextlib.contextmanager
def staged(parent: Path, name: str, prefix: str = STAGING_PREFIX):
    """A staging folder for ``parent/<name>``, removed if the block raises (anything, Ctrl-C included).

    The block is expected to end with :func:`swap_into_place`; a staging folder
    that was not swapped in is removed on the way out too.
    """
    staging = new_staging(parent, name, prefix)
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def swap_into_place(staging: Path, final: Path, old_prefix: str = OLD_PREFIX) -> Path:
    """Replace ``final`` by ``staging`` with two renames, so a reader never sees a half-written folder.

    The previous ``final`` is renamed aside first and removed only once the
    new one is in place; if moving the new one in fails, the previous one is
    renamed back and the error raised. Returns ``final``.
    """
    staging, final = Path(staging), Path(final)
    old = None
    if final.exists():
        old = _hidden(final.parent, old_prefix, final.name)
        final.rename(old)
    try:
        staging.rename(final)
    except BaseException:
        if old is not None and not final.exists():
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def recover_interrupted_swaps(parent: Path, old_prefix: str = OLD_PREFIX) -> list[Path]:
    """Put back a folder a killed run had renamed aside but not yet replaced; returns the folders restored.

    ``<old_prefix>-<name>-<random>`` is renamed back to ``<name>`` when no
    ``<name>`` exists: the run died between the two renames of
    :func:`swap_into_place`, and this is the last good copy. An empty one
    holds nothing to keep and is left to the leftover clean-up.
    """
    restored = []
    for old in sorted(Path(parent).glob(f"{old_prefix}-*-*")):
        name = old.name[len(old_prefix) + 1:].rsplit("-", 1)[0]
        final = old.with_name(name)
        if old.is_dir() and name and not final.exists() and any(old.iterdir()):
            old.rename(final)
            restored.append(final)
    return restored


def carry(source_dir: Path, target_dir: Path, rel: str) -> None:
    """Copy one file, ``rel`` below ``source_dir``, to the same place below ``target_dir``, byte for byte."""
    from ..safe_output import path_inside

    target = path_inside(target_dir, rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path_inside(source_dir, rel), target)


def safe_file(folder: Path, rel: str) -> bool:
    """Whether ``rel`` names an existing file inside ``folder`` (a path leading outside raises ``UnsafePath``)."""
    from ..safe_output import path_inside

    return path_inside(folder, rel).is_file()
