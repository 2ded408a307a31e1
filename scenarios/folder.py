"""Writing a scenario as a contract folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.csv_file import write_csv


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
        write_csv(self.households, folder / "households.csv")
        write_csv(self.lots, folder / "lots.csv")
        write_csv(self.points, folder / "points.csv")
        if self.communes is not None:
            write_csv(self.communes, folder / "communes.csv")
        (folder / "round.json").write_text(json.dumps(self.round, indent=1) + "\n",
                                           encoding="utf-8")
        return folder
