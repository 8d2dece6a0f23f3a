"""A progress bar for long explorations: states, states per second, frontier, depth.

`ExplorationProgress` is the callback the explicit engine takes
(``checker.ProgressFn``: states, frontier, depth, seconds). It draws nothing
until an exploration has run for `delay` seconds, so short ones leave no
trace, and draws on the console the CLI gives it -- which the CLI does only
when both standard output and standard error are terminals. The bar is
transient: it disappears when the exploration ends.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

DELAY = 0.5  # seconds before the bar appears


class ExplorationProgress:
    """One bar at a time; `label` names what is being explored. Call `close()` when the run ends."""

    def __init__(self, console: Console, label: str = "", delay: float = DELAY) -> None:
        self.console = console
        self.label = label
        self.delay = delay
        self._progress: Progress | None = None
        self._task: int | None = None
        self.updates = 0

    def relabel(self, label: str) -> None:
        """Name the next exploration (closing the current bar)."""
        self.close()
        self.label = label

    def __call__(self, states: int, frontier: int, depth: int, seconds: float) -> None:
        if self._progress is None:
            if seconds < self.delay:
                return
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label or "exploring", total=None, stats="")
        rate = states / seconds if seconds > 0 else 0.0
        stats = f"{states:,} states, {rate:,.0f} states/s, frontier {frontier:,}, depth {depth}"
        self._progress.update(self._task, completed=states, stats=stats)  # type: ignore[arg-type]
        self.updates += 1

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None
