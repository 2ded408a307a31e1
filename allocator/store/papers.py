"""Handover lists as official papers: one per point, or per commune, of an approved round.

A commune office prints the list, households sign it at the point, and the signed
paper is filed. So a list is made only for a round that is handing phones over
(approved, or past its pickup deadline and not yet closed): a solved round is not
a decision yet, and its households have no pickup code. Each list holds the
households of its own point (or commune) only, numbered from 1, under the heading
an official paper carries: the issuing office, the round and the day it was
approved. `allocator.store.papers_xlsx` lays the papers out for A4.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.report.labels import Text
from allocator.store.handover import COLUMNS, frozen_scenario, handover_rows
from allocator.store.lifecycle import PICKING_UP, RoundError
from allocator.store.models import Commune, Round
from allocator.store.rounds import get_round
from allocator.validate import Scenario

OFFICE_ENV = "ALLOCATOR_OFFICE"
DEFAULT_OFFICE = "Sở Khoa học và Công nghệ TP. Hồ Chí Minh"
VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time
HANDING_OVER = PICKING_UP  # the rounds whose households are collecting their phones
Kind = Literal["point", "commune"]


def office_from_env() -> str:
    """The issuing office printed on every paper ($ALLOCATOR_OFFICE, else the Department)."""
    return os.environ.get(OFFICE_ENV, "").strip() or DEFAULT_OFFICE


class PaperRefused(RoundError):
    """A list that cannot be made; `en` and `vi` say why, for the API and the pages."""

    def __init__(self, en: str, vi: str) -> None:
        super().__init__(en)
        self.en, self.vi = en, vi

    def __str__(self) -> str:
        return self.en

    def said(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class NotHandingOver(PaperRefused):
    """The round is not approved (or no longer hands phones over): no list to sign."""

    def __init__(self, round_id: int, status: str) -> None:
        vi_status, en_status = Text("vi")(status), Text("en")(status).lower()
        super().__init__(
            f"round {round_id} is {en_status}: a handover list is made only for an approved "
            "round whose households are collecting their phones",
            f"Đợt {round_id} đang ở trạng thái “{vi_status}”: danh sách bàn giao chỉ lập cho "
            "đợt đã phê duyệt và đang phát máy.")
        self.round_id, self.status = round_id, status


class NoSuchPlace(PaperRefused):
    """The point or commune asked for is not one of the round's."""

    def __init__(self, round_id: int, kind: Kind, key: str) -> None:
        what_en, what_vi = ("point", "điểm nhận") if kind == "point" else ("commune", "xã, phường")
        super().__init__(f"round {round_id} has no {what_en} {key}",
                         f"Đợt {round_id} không có {what_vi} {key}.")


@dataclass(frozen=True)
class Sheet:
    """One list: the households of one point or one commune."""

    kind: Kind
    key: str  # the point's id or the commune's code
    name: str  # the point's or commune's name ("" if the inputs have none)
    address: str  # where the point is (its commune); "" for a commune
    rows: pd.DataFrame  # handover rows under their keys (allocator.store.handover.COLUMNS)


@dataclass(frozen=True)
class Papers:
    """The lists of one round, and what their heading says."""

    round_id: int
    round_name: str
    status: str
    approved_on: dt.date | None  # Vietnam's day
    office: str
    sheets: list[Sheet]


def handing_over(session: Session, round_id: int) -> Round:
    """The round, if it hands phones over; NotHandingOver otherwise."""
    row = get_round(session, round_id)
    if row.status not in HANDING_OVER:
        raise NotHandingOver(round_id, row.status)
    return row


def handover_papers(session: Session, round_id: int, kind: Kind = "point",
                    only: str | None = None, points: Collection[str] | None = None,
                    office: str | None = None) -> Papers:
    """The round's lists, one per point (or per commune) with households, in id order.

    `only` asks for one point's (or commune's) list, even an empty one; `points`
    keeps the points a point officer works at (their lists, or in a commune's list
    their households only). Refused unless the round is handing phones over.
    """
    row = handing_over(session, round_id)
    scenario = frozen_scenario(row)
    communes = commune_names(session, scenario)
    point_rows = scenario.points.set_index("point_id")
    if only is not None and kind == "point" and only not in point_rows.index:
        raise NoSuchPlace(round_id, kind, only)
    table = handover_rows(session, row, scenario,
                          point_id=only if kind == "point" else None,
                          commune_code=only if kind == "commune" else None)
    if points is not None:
        table = table[table["point_id"].isin(list(points))]
    if only is not None and kind == "commune" and table.empty and only not in communes:
        raise NoSuchPlace(round_id, kind, only)
    table = table.assign(commune_name=table["commune_code"].map(communes).fillna(""))
    table["point_name"] = table["point_name"].fillna("")
    column = "point_id" if kind == "point" else "commune_code"
    keys = [only] if only is not None else sorted(table[column].unique())
    sheets = []
    for key in keys:
        rows = table[table[column] == key]
        if kind == "commune":  # a commune's list reads point by point, each in its order
            rows = rows.sort_values(["point_id", "when", "household_id"])
        rows = rows.reset_index(drop=True)
        rows["stt"] = range(1, len(rows) + 1)
        if kind == "point":
            place = point_rows.loc[key] if key in point_rows.index else None
            name = _text(place["name"]) if place is not None else ""
            where = str(place["commune_code"]) if place is not None else ""
            address = communes.get(where, "") or (f"xã/phường {where}" if where else "")
        else:
            name, address = communes.get(key, ""), ""
        sheets.append(Sheet(kind, key, name, address, rows))
    approved = row.approved_at
    return Papers(row.id, row.name, row.status,
                  _vietnam(approved).date() if approved is not None else None,
                  office or office_from_env(), sheets)


def papers_table(papers: Papers) -> pd.DataFrame:
    """Every list's rows in one table under the printed headers (for CSV), each list
    numbered from 1 as on its sheet."""
    parts = [sheet.rows[list(COLUMNS)] for sheet in papers.sheets]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COLUMNS))
    return table.rename(columns=COLUMNS)


def commune_names(session: Session, scenario: Scenario) -> dict[str, str]:
    """Each commune's name: the round's own list first, then the store's reference list
    (a round whose folder had no communes.csv carries the bundled one, which the store
    also holds)."""
    names = {str(code): str(name) for code, name in session.execute(
        select(Commune.code, Commune.name))}
    names.update({str(code): _text(name) for code, name in zip(
        scenario.communes["commune_code"], scenario.communes["name"]) if _text(name)})
    return names


def _text(value: object) -> str:
    """A cell of the inputs as text; a missing one (None, NaN, NA) as ""."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _vietnam(moment: dt.datetime) -> dt.datetime:
    """A stored moment (UTC) on Vietnam's clock."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(VIETNAM)
