"""Input problems, each located as a spreadsheet would show it (file, row, column)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_ISSUES = 1000  # located problems kept; a report of more helps nobody and costs memory


@dataclass(frozen=True, order=True)
class InputIssue:
    """One problem in the input. `row` counts the header as row 1; 0 = the whole file."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class IssueLog(list[InputIssue]):
    """Problems as they are found: the first `cap` are kept, the rest only counted.

    A file with a bad cell in every row would otherwise hold millions of issues
    in memory and answer with a report larger than the file.
    """

    def __init__(self, cap: int = MAX_ISSUES) -> None:
        super().__init__()
        self.cap = cap
        self.more = 0

    def append(self, issue: InputIssue) -> None:
        if len(self) < self.cap:
            super().append(issue)
        else:
            self.more += 1

    def extend(self, issues: Iterable[InputIssue]) -> None:
        for issue in issues:
            self.append(issue)
        self.more += getattr(issues, "more", 0)

    def __iadd__(self, issues: Iterable[InputIssue]) -> IssueLog:  # type: ignore[override, misc]
        self.extend(issues)
        return self

    @property
    def full(self) -> bool:
        return len(self) >= self.cap

    def tally(self, n: int) -> None:
        """Count `n` problems found while the log is full, without locating each one."""
        self.more += n


def issue_lines(issues: list[InputIssue], more: int = 0) -> list[str]:
    """Problems as sentences, at most MAX_ISSUES, then how many more there were."""
    more += getattr(issues, "more", 0) + max(0, len(issues) - MAX_ISSUES)
    lines = [str(i) for i in issues[:MAX_ISSUES]]
    if more:
        lines.append(f"... and {more:,} more problems")
    return lines


class InvalidInput(Exception):
    """Raised with every problem found, so that a planner can fix them all at once."""

    def __init__(self, issues: list[InputIssue]):
        self.more = getattr(issues, "more", 0)  # found beyond the ones kept (an IssueLog)
        self.issues = sorted(issues, key=lambda i: (i.file, i.row, i.column, i.message))
        super().__init__(f"{len(self.issues) + self.more} problem(s) in the input")

    def lines(self) -> list[str]:
        """The problems as sentences, at most MAX_ISSUES, then how many more there were."""
        return issue_lines(self.issues, self.more)
