"""The sponsor sheet: what a planner brings to a meeting with one sponsor about one round.

For each of the sponsor's lots in the round: model, network, quantity and prices; the
devices allocated (and handed over so far, once the round is approved) and the use
rate; the devices left idle and why; and the change that would put them to use, with
the households it would serve. Reasons and changes come from the round's bottleneck
analysis (the `lots` section of `allocator.bottlenecks`, kept by
`allocator.store.analyses`); without one, the sheet gives the use figures and says
where the rest would come from.

The sheet is handed to the sponsor, so it holds what the sponsor portal may show and
nothing more: no household, only counts, suppressed by `allocator.disclosure`. The
portal's own figures (`sponsor_view.figures`, published by `sponsor_view.publish`)
keep their texts here, so that a sponsor holding both reads the same numbers; the
sheet's own counts (idle devices, idle devices by reason, households a change would
serve) are suppressed around them, with what a reader knows besides: quantity =
allocated + idle, idle = the sum of its reasons. Amounts that a count multiplies (the
value of the devices allocated) are shown only beside a published count, and their
total only when every lot's count is published: two hidden counts and their value
would be two equations in two unknowns.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import LOTS
from allocator.disclosure import WITHHELD, Facts, suppress
from allocator.report.labels import Text
from allocator.store.analyses import BOTTLENECKS, latest_result
from allocator.store.lifecycle import VISIBLE_TO_SPONSORS, WITH_RESULTS
from allocator.store.models import AllocationRow, Round, Sponsor
from allocator.store.sponsor_view import Allocated, Figures, Key, figures, publish

VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time
OFFICE = ("Sở Khoa học và Công nghệ TP. Hồ Chí Minh",
          "Department of Science and Technology, Ho Chi Minh City")
# Why a lot's devices stayed idle, as the bottleneck analysis names it; any other is "other".
REASONS = ("communes_exhausted", "statuses", "features_unneeded", "points_full", "budget",
           "other")


class SheetError(Exception):
    """No sheet for this request; `str()` is a sentence in Vietnamese, then English."""

    status = 400

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(vi, en)
        self.vi, self.en = vi, en

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"

    def sentence(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class NoRound(SheetError):
    status = 404

    def __init__(self, round_id: int) -> None:
        super().__init__(f"Không có đợt {round_id}.", f"There is no round {round_id}.")


class NoResults(SheetError):
    status = 409

    def __init__(self, round_id: int, status: str) -> None:
        super().__init__(
            f"Đợt {round_id} chưa có kết quả (trạng thái “{Text('vi')(status)}”): hãy tính "
            "phân bổ trước khi lập phiếu làm việc với nhà tài trợ.",
            f"Round {round_id} has no results yet ({Text('en')(status).lower()}): solve it "
            "before making a sponsor sheet.")


class NoSponsor(SheetError):
    status = 404

    def __init__(self, round_id: int, sponsor_id: str) -> None:
        super().__init__(f"Nhà tài trợ “{sponsor_id}” không có lô máy nào trong đợt {round_id}.",
                         f"Sponsor “{sponsor_id}” has no lot in round {round_id}.")


@dataclass(frozen=True)
class IdleReason:
    reason: str  # one of REASONS
    devices: str  # as published: a number, "<5", "*" or "–"


@dataclass(frozen=True)
class Change:
    """The change the bottleneck analysis found best at putting a lot's idle devices to use."""

    kind: str
    subject: str
    change_vi: str
    change_en: str
    households: str  # households it would serve more, as published
    priority_weight: int | None  # their priority weight, only beside a published count
    devices: str  # of the lot's idle devices, those it would put to use, as published


@dataclass(frozen=True)
class SheetLot:
    lot_id: str
    model: str
    network: str
    quantity: int
    unit_price_vnd: int | None
    sponsor_subsidy_vnd: int | None
    allocated: str
    handed_over: str
    use_rate: float | None  # allocated / quantity, when allocated is published
    idle: str
    sponsored_vnd: int | None  # subsidy x allocated, when allocated is published
    idle_reasons: list[IdleReason] = field(default_factory=list)
    change: Change | None = None


@dataclass(frozen=True)
class SponsorSheet:
    round_id: int
    round_name: str
    round_status: str
    round_date: dt.date | None  # approved on, else solved on (Vietnam time)
    approved: bool  # round_date is the day of approval
    issued: dt.date
    sponsor_id: str
    sponsor_name: str
    handed_over_shown: bool  # the round is approved: its handovers so far are counted
    analysed: bool  # a bottleneck analysis of the round was read
    lots: list[SheetLot]
    total: SheetLot
    # Where the idle devices' reasons come from: "analysis" (the bottleneck analysis),
    # "round" (the round's own figures, dashboard.json) or "" (none given).
    reasons_from: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("round_date", "issued"):
            data[key] = data[key].isoformat() if data[key] else None
        data["office_vi"], data["office_en"] = OFFICE
        return data


def stored_bottlenecks(session: Session, round_id: int) -> dict[str, Any] | None:
    """The round's latest finished bottleneck analysis, or None (none run, or none done)."""
    return latest_result(session, round_id, BOTTLENECKS)


_READ: Any = object()  # read the analysis from the store


def sponsor_sheet(session: Session, round_id: int, sponsor_id: str,
                  analysis: Mapping[str, Any] | None = _READ,
                  today: dt.date | None = None, round_reasons: bool = False) -> SponsorSheet:
    """The sheet of one sponsor in one round with results.

    `analysis` is the bottleneck analysis's JSON (`Bottlenecks.to_json()`); by default
    the round's latest finished one is read from the store. Without one, and with
    `round_reasons`, the idle devices' reasons are the round's own (`dashboard.json`,
    worked out with every solve by `allocator.lot_use.idle_reasons`, the same split the
    analysis makes of the same result), as the sponsor portal gives them. Raises
    `NoRound`, `NoResults` or `NoSponsor`.
    """
    row = session.get(Round, round_id)
    if row is None:
        raise NoRound(round_id)
    if row.status not in WITH_RESULTS or row.summary is None:
        raise NoResults(round_id, row.status)
    frozen = _frozen_lots(row)
    dashboard = row.dashboard or {}
    lot_info = {str(x["lot_id"]): x for x in dashboard.get("lots", [])
                if str(x["sponsor_id"]) == sponsor_id}
    mine = frozen[frozen["sponsor_id"] == sponsor_id]
    if not lot_info and mine.empty:
        raise NoSponsor(round_id, sponsor_id)
    allocated = [Allocated(lot, commune, status, str(flags), handed is not None)
                 for lot, commune, status, flags, handed in session.execute(
        select(AllocationRow.lot_id, AllocationRow.commune_code, AllocationRow.poverty_status,
               AllocationRow.flags, AllocationRow.handed_over_at)
        .where(AllocationRow.round_id == row.id, AllocationRow.sponsor_id == sponsor_id))]
    by_id = {str(r["lot_id"]): r for r in mine.to_dict("records")}
    # The lots and quantities the portal's figures are made of (sponsor_view.make_view);
    # the round's frozen lots as well for a round solved before dashboards were kept.
    lots = sorted(set(lot_info) | {a.lot_id for a in allocated} | set(by_id))
    made = figures(allocated, lots, {lot: int(info.get("quantity", 0))
                                     for lot, info in lot_info.items()})
    counted = {lot: sum(a.lot_id == lot for a in allocated) for lot in lots}
    quantity = {lot: max(counted[lot], int(lot_info[lot].get("quantity", 0)) if lot in lot_info
                         else _int(by_id.get(lot, {}).get("quantity")) or 0) for lot in lots}
    if analysis is _READ:
        analysis = stored_bottlenecks(session, row.id)
    entries = {str(x.get("lot_id")): x for x in (analysis or {}).get("lots", [])
               if str(x.get("lot_id")) in lots}
    reasons_from = "analysis" if analysis is not None else ""
    if analysis is None and round_reasons and any("idle_reasons" in x
                                                  for x in lot_info.values()):
        entries = {lot: {"idle_reasons": x.get("idle_reasons") or []}
                   for lot, x in lot_info.items()}
        reasons_from = "round"
    reasons = {lot: idle_parts(entries.get(lot, {}).get("idle_reasons") or [],
                               quantity[lot] - counted[lot]) for lot in lots}
    # A change is listed only for a lot with idle devices (and says so: the audit knows).
    changes = {lot: entries[lot]["change"] for lot in lots
               if isinstance(entries.get(lot, {}).get("change"), Mapping)
               and quantity[lot] > counted[lot]}
    gains = {lot: (max(0, _int(change.get("gain_served")) or 0),
                   min(quantity[lot] - counted[lot],
                       max(0, _int(entries[lot].get("change_devices")) or 0)))
             for lot, change in changes.items()}
    texts = sheet_texts(made, lots, quantity, counted, reasons, gains)
    shown, reasons = texts.shown, texts.reasons
    changes = {lot: c for lot, c in changes.items() if lot in texts.gains}
    handed_shown = row.status in VISIBLE_TO_SPONSORS

    def line(lot: str) -> SheetLot:
        info, frame = lot_info.get(lot, {}), by_id.get(lot, {})
        subsidy = _int(frame.get("sponsor_subsidy_vnd"))
        a_text = shown.get(("lot", lot, "a"), WITHHELD)
        a = int(a_text) if a_text.isdigit() else None
        change = None
        if lot in changes:
            c = changes[lot]
            served = shown[("change", lot, "s")]
            change = Change(str(c.get("kind", "")), str(c.get("subject", "")),
                            str(c.get("change_vi", "")), str(c.get("change_en", "")), served,
                            _int(c.get("gain_weight")) if served.isdigit() else None,
                            shown[("change", lot, "d")])
        return SheetLot(
            lot, str(info.get("model") or frame.get("model", "")), str(frame.get("network", "")),
            quantity[lot], _int(frame.get("unit_price_vnd")), subsidy, a_text,
            shown.get(("lot", lot, "h"), WITHHELD) if handed_shown else "",
            a / quantity[lot] if a is not None and quantity[lot] else None,
            shown[("lot", lot, "i")],
            subsidy * a if a is not None and subsidy is not None else None,
            [IdleReason(reason, shown[("lot", lot, "r", reason)])
             for reason, _ in reasons.get(lot, [])],
            change)

    lines = [line(lot) for lot in lots]
    total_a = shown[("total", "a")]
    total_q = sum(quantity.values())
    values = [x.sponsored_vnd for x in lines]
    total = SheetLot(
        "", "", "", total_q, None, None, total_a,
        shown.get(("total", "h"), WITHHELD) if handed_shown else "",
        int(total_a) / total_q if total_a.isdigit() and total_q else None,
        shown[("total", "i")],
        sum(v for v in values if v is not None) if all(v is not None for v in values) else None)
    when = row.approved_at or row.solved_at
    return SponsorSheet(
        row.id, row.name, row.status, _vietnam_day(when) if when else None,
        row.approved_at is not None,
        today or dt.datetime.now(VIETNAM).date(), sponsor_id,
        _sponsor_name(session, sponsor_id, lot_info, mine), handed_shown,
        analysis is not None, lines, total, reasons_from)


def idle_parts(reasons: Sequence[Mapping[str, Any]], idle: int) -> list[tuple[str, int]]:
    """A lot's idle devices by reason, adding up to exactly `idle`: reasons in the
    analysis's order, each at most what is left, the rest (if any) as "other".

    The analysis counts the idle devices of its own solve of the round, which is the
    store's whenever it ran on the same results; this keeps the sheet's sums true if not.
    """
    left, parts = max(0, idle), dict[str, int]()
    for item in reasons:
        reason = str(item.get("reason", ""))
        reason = reason if reason in REASONS else "other"
        n = min(left, max(0, _int(item.get("devices")) or 0))
        if n:
            parts[reason] = parts.get(reason, 0) + n
            left -= n
    if left and reasons:
        parts["other"] = parts.get("other", 0) + left
    return sorted(parts.items(), key=lambda p: REASONS.index(p[0]))


@dataclass(frozen=True)
class SheetFigures:
    cells: dict[Key, int]
    sums: list[tuple[Key, list[Key]]]
    keep: set[Key]
    facts: Facts[Key]
    fixed: dict[Key, str]  # the portal's texts, and the quantities and idle devices
    shown: dict[Key, str]
    reasons: dict[str, list[tuple[str, int]]]  # the reasons listed, by lot
    gains: dict[str, tuple[int, int]]  # the changes listed, by lot: households, devices


def sheet_texts(made: Figures, lots: Sequence[str], quantity: Mapping[str, int],
                allocated: Mapping[str, int], reasons: Mapping[str, list[tuple[str, int]]],
                gains: Mapping[str, tuple[int, int]]) -> SheetFigures:
    """The text of every count on the sheet: the portal's figures as the portal shows them,
    and the sheet's own suppressed around them.

    Cells added to the portal's: each lot's quantity (published) and idle devices, with
    quantity = allocated + idle, so idle devices are published exactly when allocated
    devices are (hiding them as "*", 0 or at least 5, would tell something of a hidden
    allocated count); idle devices by reason, adding up to the idle devices (listed only
    when not zero), and the idle devices a change would use (at most the idle devices),
    suppressed around all of these; the same for the total. The households a change
    would serve stand alone; a change is listed only for a lot with idle devices.

    Like the portal (`sponsor_view.publish`), the sheet's texts are settled against the
    figures a handover cannot change, then checked with the handovers' as well.
    Listing a reason or a change says that the lot has idle devices, so that it did not
    give all it holds. Where that alone would pin a count the portal hides (a lot of 3
    devices, under 5 allocated in all), the reasons and changes of the lots whose
    allocated count is hidden are left out, and if that is not enough, all of them.
    """
    portal = publish(made)
    hidden_lots = {lot for lot in lots
                   if not portal.get(("lot", lot, "a"), WITHHELD).isdigit()}
    tries: tuple[set[str], ...] = (set(), hidden_lots, set(lots))
    # What is left out must also hold before any handover: a later sheet then never
    # lists a reason an earlier one left out (with nothing handed over, listing it
    # could have pinned a count that the handovers' figures happen to blur).
    before = before_handovers(made)
    for left_out in tries:
        listed = {lot: r for lot, r in reasons.items() if lot not in left_out}
        changes = {lot: n for lot, n in gains.items() if lot not in left_out}
        try:
            if before.cells != made.cells:
                _sheet_texts(before, publish(before), lots, quantity, allocated, listed,
                             changes)
            return _sheet_texts(made, portal, lots, quantity, allocated, listed, changes)
        except AssertionError:
            if left_out == tries[-1]:
                raise
    raise AssertionError("unreachable")


def before_handovers(made: Figures) -> Figures:
    """`made` as it read before any handover: nothing handed over, all still pending."""
    cells = dict(made.cells)
    for key in made.cells:
        if key[-1] == "h":
            cells[key] = 0
        elif key[-1] == "p":
            cells[key] = made.cells[(*key[:-1], "a")]
    return made._replace(cells=cells)


def _sheet_texts(made: Figures, portal: Mapping[Key, str], lots: Sequence[str],
                 quantity: Mapping[str, int], allocated: Mapping[str, int],
                 reasons: Mapping[str, list[tuple[str, int]]],
                 gains: Mapping[str, tuple[int, int]]) -> SheetFigures:
    fixed = dict(portal)
    cells, sums = dict(made.cells), [(t, list(p)) for t, p in made.sums]
    keep = set(made.keep)
    nonzero = set(made.facts.nonzero)
    if any(("lot", lot, "a") not in cells for lot in lots):
        # Under 5 devices in all the portal shows their total only: the lots' counts are
        # there all the same, as far as a reader's sums go, and are not published.
        for lot in lots:
            cells[("lot", lot, "a")] = allocated[lot]
            fixed[("lot", lot, "a")] = WITHHELD
        sums.append((("total", "a"), [("lot", lot, "a") for lot in lots]))
    listed = {lot: list(reasons.get(lot, [])) for lot in lots}
    at_most = list(made.facts.at_most)
    for lot in lots:
        q, a, i = ("lot", lot, "q"), ("lot", lot, "a"), ("lot", lot, "i")
        cells[q], cells[i] = quantity[lot], quantity[lot] - allocated[lot]
        fixed[q] = str(quantity[lot])
        fixed[i] = str(cells[i]) if fixed[a].isdigit() else WITHHELD
        sums.append((q, [a, i]))
        parts: list[Key] = [("lot", lot, "r", reason) for reason, _ in listed[lot]]
        for key, (_, n) in zip(parts, listed[lot], strict=True):
            cells[key] = n
            nonzero.add(key)
        if parts:
            sums.append((i, parts))
        if lot in gains:
            nonzero.add(i)
            d = ("change", lot, "d")
            cells[d] = gains[lot][1]
            at_most.append((d, i))
            if cells[d]:
                nonzero.add(d)
    total = ("total", "q"), ("total", "a"), ("total", "i")
    cells[total[0]] = sum(quantity[lot] for lot in lots)
    cells[total[2]] = sum(cells[("lot", lot, "i")] for lot in lots)
    fixed[total[0]] = str(cells[total[0]])
    fixed[total[2]] = str(cells[total[2]]) if fixed[total[1]].isdigit() else WITHHELD
    sums.append((total[2], [("lot", lot, "i") for lot in lots]))
    sums.append((total[0], [total[1], total[2]]))
    facts: Facts[Key] = Facts(frozenset(nonzero), made.facts.ceilings, tuple(at_most))
    # As the portal publishes: the figures a handover cannot change first, on their own,
    # so that the sheet's texts read the same before and after any handover; then a check
    # of everything together (every text fixed by then: a pin raises AssertionError).
    side = {k for k in cells if k[-1] not in ("h", "p")}
    first = suppress({k: n for k, n in cells.items() if k in side},
                     [(t, p) for t, p in sums if {t, *p} <= side], keep & side,
                     Facts(facts.nonzero & side,
                           {k: n for k, n in facts.ceilings.items() if k in side},
                           tuple(pair for pair in facts.at_most if set(pair) <= side)),
                     fixed={k: text for k, text in fixed.items() if k in side})
    shown = suppress(cells, sums, keep, facts, fixed=fixed | first)
    # The households a change serves, over the whole round: each a figure of its own,
    # tied to no other, hidden only when small.
    alone: dict[Key, int] = {("change", lot, "s"): n for lot, (n, _) in gains.items()}
    shown |= suppress(alone, [], set(alone))
    return SheetFigures(cells | alone, sums, keep | set(alone), facts, fixed, shown,
                        {lot: r for lot, r in listed.items() if r}, dict(gains))


def _frozen_lots(row: Round) -> pd.DataFrame:
    """The round's lots as its frozen inputs hold them (model, network, prices)."""
    columns = ["lot_id", "sponsor_id", "sponsor_name", "model", "network", "quantity",
               "unit_price_vnd", "sponsor_subsidy_vnd"]
    try:
        with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
            data = archive.read(LOTS)
    except (KeyError, zipfile.BadZipFile, TypeError):
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame[columns]


def _sponsor_name(session: Session, sponsor_id: str, lot_info: Mapping[str, Any],
                  frozen: pd.DataFrame) -> str:
    """As the portal names the sponsor: the registry's name, else the round's."""
    row = session.get(Sponsor, sponsor_id)
    if row is not None and row.name:
        return row.name
    names = [str(x.get("sponsor_name") or "") for x in lot_info.values()]
    names += [str(x) for x in frozen["sponsor_name"]]
    return next((n for n in names if n), sponsor_id)


def _vietnam_day(when: dt.datetime) -> dt.date:
    aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM).date()


def _int(value: object) -> int | None:
    """A whole number from JSON or a CSV cell ("3", "3.0", 3); None if there is none."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number == number and abs(number) < 1e18 else None


def figure(text: str, t: Text) -> str:
    """A published count as a reader reads it: 1.234 in Vietnamese, marks as they are."""
    return t.number(int(text)) if text.isdigit() else text


Table = tuple[list[str], list[list[str]]]


def use_table(sheet: SponsorSheet, t: Text, money: Callable[[int], str] | None = None) -> Table:
    """Each lot's use, and the total: the sheet's first table. Amounts are exact
    ("2.090.000 ₫", as the workbook keeps them) unless `money` writes them otherwise (the
    page: `Text.amount`, in words with the exact amount on hover)."""
    said = money or t.money
    header = [t("lot"), t("model"), t("sheet_network"), t("quantity"), t("sheet_unit_price"),
              t("sheet_subsidy"), t("given")]
    if sheet.handed_over_shown:
        header.append(t("collected"))
    header += [t("sheet_use_rate"), t("sheet_idle"), t("sheet_sponsored_value")]
    rows = []
    for x in [*sheet.lots, sheet.total]:
        prices = [_money(x.unit_price_vnd, said), _money(x.sponsor_subsidy_vnd, said)] \
            if x.lot_id else ["", ""]
        cells = [x.lot_id or t("total"), x.model, x.network, t.number(x.quantity), *prices,
                 figure(x.allocated, t)]
        if sheet.handed_over_shown:
            cells.append(figure(x.handed_over, t))
        cells += [t.percent(int(x.allocated), x.quantity) if x.use_rate is not None
                  else WITHHELD, figure(x.idle, t), _money(x.sponsored_vnd, said)]
        rows.append(cells)
    return header, rows


def reason_table(sheet: SponsorSheet, t: Text) -> Table:
    """Idle devices by lot and reason (from the bottleneck analysis)."""
    header = [t("lot"), t("model"), t("sheet_idle"), t("reason"), t("devices")]
    rows = []
    for x in sheet.lots:
        for i, r in enumerate(x.idle_reasons):
            rows.append([x.lot_id, x.model, figure(x.idle, t) if i == 0 else "",
                         t(f"sheet_reason_{r.reason}"), figure(r.devices, t)])
    return header, rows


def change_table(sheet: SponsorSheet, t: Text) -> Table:
    """For each lot with idle devices, the change that would put them to use."""
    header = [t("lot"), t("sheet_idle"), t("sheet_change"), t("sheet_devices_used"),
              t("sheet_households_more"), t("sheet_weight_more")]
    rows = []
    for x in sheet.lots:
        if x.change is None:
            continue
        c = x.change
        rows.append([x.lot_id, figure(x.idle, t), c.change_en if t.lang == "en" else c.change_vi,
                     figure(c.devices, t), figure(c.households, t),
                     t.number(c.priority_weight) if c.priority_weight is not None else WITHHELD])
    return header, rows


def figure_columns(header: Sequence[str], t: Text) -> set[int]:
    """The columns of a table that hold figures (right-aligned)."""
    words = {t(k) for k in ("quantity", "sheet_unit_price", "sheet_subsidy", "given",
                            "collected", "sheet_use_rate", "sheet_idle", "sheet_sponsored_value",
                            "devices", "sheet_devices_used", "sheet_households_more",
                            "sheet_weight_more")}
    return {i for i, h in enumerate(header) if h in words}


def _money(vnd: int | None, said: Callable[[int], str]) -> str:
    return WITHHELD if vnd is None else said(vnd)
