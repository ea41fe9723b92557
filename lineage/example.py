"""Write the runnable example pipeline (``lineage init --example``)."""

from __future__ import annotations

import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "example_pipeline"


def example_files() -> list[Path]:
    """Return the example's files, relative to its folder."""
    return sorted(
        p.relative_to(SOURCE)
        for p in SOURCE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def write_example(root: Path) -> tuple[list[Path], list[Path]]:
    """Copy the example into ``root``; keep files that exist. Return (written, kept)."""
    written: list[Path] = []
    kept: list[Path] = []
    for relative in example_files():
        target = root / relative
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / relative, target)
        written.append(target)
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".lineage/\ndata/\n")
        written.append(gitignore)
    return written, kept
