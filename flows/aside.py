"""What DVC's cache cannot bring back after a failed or interrupted stage, set aside meanwhile.

DVC removes a stage's outputs before it runs the stage (dvc/stage/__init__.py `Stage.run`), and
a stage may clear folders of its own (train empties reports/train, DVCLive's folder). Checking
the stage out of DVC's cache afterwards restores its cached outputs, but neither its uncached
ones (`cache: false` reports and metrics, which git tracks) nor the .gitignore files DVC wrote
next to its cached outputs. So copies of those are set aside before the stage runs and put
back when it fails:

- after an interruption or a crash, everything as it was before the stage ran;
- after a failure the stage reported itself (its `trainflow: ...` message), only what went
  missing: the reports it wrote describe that failure (validation.json of a failed validation).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

FOLDER = Path(".dvc/tmp/trainflow-aside")


def unrestorable(stage, root: Path) -> list[Path]:
    """The stage's uncached outputs and the .gitignore files beside its outputs, relative to
    `root`, that exist now."""
    found = []
    for out in stage.outs:
        path = Path(out.fs_path)
        found += [path] if not out.use_cache else []
        found.append(path.parent / ".gitignore")
    relative = [p.relative_to(root) for p in found if p.is_relative_to(root)]
    return [p for p in dict.fromkeys(relative) if (root / p).exists()]


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class SetAside:
    """Copies of one stage's unrestorable files, under .dvc/tmp, until the stage is over."""

    def __init__(self, root: Path, stage: str, paths: list[Path]):
        self.root, self.paths = root, paths
        self.folder = root / FOLDER / stage
        _remove(self.folder)  # a copy left by a killed run describes an older workspace
        for path in paths:
            _copy(root / path, self.folder / path)

    def put_back(self, everything: bool) -> list[str]:
        """Put the copies back (all, or only those whose original is gone); return their paths.

        A copy that cannot be put back (a read-only or full disk) stays where it is: the
        stage's own error is what the user must read.
        """
        back = []
        for path in self.paths:
            here = self.root / path
            if everything or not (here.exists() or here.is_symlink()):
                with contextlib.suppress(OSError):
                    _remove(here)
                    here.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.folder / path, here)
                    back.append(str(path))
        return back

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
