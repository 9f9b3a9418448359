"""What the `altoviz-mock` command prints: colour on a terminal only (never with NO_COLOR, in a
pipe, a file or a dumb terminal), one line per error, progress bars on a terminal only."""

from __future__ import annotations

import os
import sys
from functools import lru_cache

PROG = "altoviz-mock"


def colour_wanted(stream) -> bool:
    """Colour for `stream`: NO_COLOR (any value) says no, FORCE_COLOR yes, else a real terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _isatty(stream) and os.environ.get("TERM") != "dumb"


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@lru_cache(maxsize=2)
def console(stderr: bool = False):
    """A rich Console on stdout (or stderr) that never wraps lines (pipes and logs get them whole)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    wanted = colour_wanted(stream)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, no_color=not wanted,
                   force_terminal=True if wanted and not _isatty(stream) else None,
                   color_system="auto" if wanted else None)


def escape(text: object) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def say(markup: str) -> None:
    """A line on stdout, with rich markup ([bold], [green]...) shown only where colour is wanted."""
    console().print(markup)


def fail(message: str, status: int = 1, command: str | None = None) -> int:
    """Print `altoviz-mock: error: message` (one line, on stderr) and give the exit status back."""
    prefix = f"{PROG} {command}" if command else PROG
    console(stderr=True).print(f"[bold red]{escape(prefix)}: error:[/] {escape(' '.join(message.split()))}")
    return status


def progress_bar():
    """A progress bar on stderr, drawn only on a terminal (elsewhere it shows nothing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = console(stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
