"""Input problems, each located as a spreadsheet would show it (file, row, column)."""

from __future__ import annotations

from dataclasses import dataclass


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


class InvalidInput(Exception):
    """Raised with every problem found, so that a planner can fix them all at once."""

    def __init__(self, issues: list[InputIssue]):
        self.issues = sorted(issues, key=lambda i: (i.file, i.row, i.column, i.message))
        super().__init__(f"{len(self.issues)} problem(s) in the input")
