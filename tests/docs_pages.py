"""What the docs say, read the way a user reads it: code blocks, commands and params keys."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
# Pages a user reads for commands to type; the generated references hold usage synopses.
WRITTEN = [page for page in PAGES if "reference" not in page.relative_to(ROOT).parts]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
COMMAND = re.compile(r"^(?:\$ )?((?:[A-Z_]+=\S+ )*trainflow(?: .*)?)$")
SECTIONS = ("paths", "data", "validate", "prepare", "train", "evaluate", "register", "flow")
FILE_SUFFIX = re.compile(r"\.(csv|json|yaml|yml|md|py|keras|txt|parquet|lock|jpg|png|html)$")


def code_blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text())


def commands(page: Path) -> list[list[str]]:
    """Each `trainflow ...` line of the page's code blocks as argv (comments, prompts and
    leading VAR=value settings dropped); lines of output (`trainflow: ...`) are not commands."""
    found = []
    for block in code_blocks(page):
        for line in block.replace("\\\n", " ").splitlines():
            match = COMMAND.match(line.strip())
            if match:
                words = shlex.split(match.group(1), comments=True)
                while words and re.match(r"^[A-Z_]+=", words[0]):
                    words.pop(0)
                found.append(words[1:])
    return found


def params_keys_named(page: Path) -> set[str]:
    """Dotted params keys the page names: in `--set KEY=...` and in inline code spans that are
    a key alone, `key: value` or `key=value` (file names such as `data.csv` are not keys)."""
    text = page.read_text()
    names = set(re.findall(r"--set[ =]([a-z_][\w.]*)=", text))
    for span in re.findall(r"`([^`\n]+)`", text):
        match = re.fullmatch(r"([a-z_]+(?:\.[a-z_0-9]+)+)(?:\s*[:=].*)?", span)
        if match and match.group(1).split(".")[0] in SECTIONS:
            names.add(match.group(1))
    return {name for name in names if not FILE_SUFFIX.search(name)}


def parse_error(argv: list[str]) -> str | None:
    """Why the real `trainflow` command line would refuse `argv`, or None if it parses."""
    from typer.main import get_command

    from flows.cli import app

    command = get_command(app)
    parent = None
    name = "trainflow"
    try:
        while True:
            ctx = command.make_context(name, list(argv), parent=parent, resilient_parsing=False)
            if not hasattr(command, "resolve_command"):
                return None
            rest = [*ctx._protected_args, *ctx.args] if hasattr(ctx, "_protected_args") else []
            rest = rest or [*getattr(ctx, "protected_args", []), *ctx.args]
            if not rest:
                return None
            name, command, argv = command.resolve_command(ctx, rest)
            parent = ctx
    except Exception as err:  # typer's own click raises its UsageError family
        if type(err).__name__ == "Exit" or "does not exist" in str(err):
            return None  # --help, or a path of the user's own that this machine lacks
        return f"{type(err).__name__}: {err}"
