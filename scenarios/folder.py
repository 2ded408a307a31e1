"""Writing a scenario as a contract folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class ScenarioTables:
    """A scenario as plain tables, ready to write as a contract folder."""

    households: pd.DataFrame
    lots: pd.DataFrame
    points: pd.DataFrame
    round: dict[str, Any]
    communes: pd.DataFrame | None = None  # None: rely on the bundled HCMC list

    def write(self, folder: Path | str) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.households.to_csv(folder / "households.csv", index=False, lineterminator="\n")
        self.lots.to_csv(folder / "lots.csv", index=False, lineterminator="\n")
        self.points.to_csv(folder / "points.csv", index=False, lineterminator="\n")
        if self.communes is not None:
            self.communes.to_csv(folder / "communes.csv", index=False, lineterminator="\n")
        (folder / "round.json").write_text(json.dumps(self.round, indent=1) + "\n",
                                           encoding="utf-8")
        return folder
