"""Paper handover lists brought back from points without a connection.

The point prints its handover list, households sign it, and someone types back
which households were handed over and the IMEI of each phone (CSV or XLSX:
code, handed over yes/no, IMEI, note; the printed list's Vietnamese headers
work too, and its workbook is read from the header row under its heading down
to its total line). The upload is all or nothing: every problem is reported by
row and column (rows numbered as a spreadsheet shows them) and nothing is
written, not even an audit entry, until the whole file is right.

A paper record says `via = paper` and `identity = paper list`: the identity was
checked by the signature on paper, which the point keeps; the desk's typed
check of the CCCD digits did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from allocator.device_ids import check_imei
from allocator.issues import InputIssue, IssueLog
from allocator.limits import CONTROL, Limits
from allocator.pickup_codes import display_code, normalise_code
from allocator.reading import open_csv
from allocator.store import audit, ledger
from allocator.store.handover import COLUMNS as PRINTED
from allocator.store.jobs import stamp
from allocator.store.models import AllocationRow, Handover, User
from allocator.store.papers_xlsx import TOTAL
from allocator.store.point_desk import MAX_NOTE, desk_points, fold, open_round
from allocator.store.workbooks import open_xlsx

MAX_ROWS = 20_000  # a point's list is some hundreds of households; a city's is 250,000
SUFFIXES = (".csv", ".xlsx", ".xlsm")
IDENTITY = "paper list"
YES = frozenset({"co", "yes", "y", "x", "1", "true", "da nhan", "da giao", "roi"})
NO = frozenset({"khong", "no", "n", "", "0", "false", "chua", "chua nhan"})


def _headers(*names: str) -> frozenset[str]:
    return frozenset(fold(n).replace("_", " ") for n in names)


# Columns of the file, by the headers accepted for each (compared folded: no accents, case).
WANTED: dict[str, frozenset[str]] = {
    "code": _headers("code", "pickup_code", "mã nhận máy", "mã nhận", "mã",
                     *(PRINTED[k] for k in ("pickup_code", "code") if k in PRINTED)),
    "handed": _headers("handed_over", "handed", "đã nhận", "đã nhận máy", "đã bàn giao",
                       "bàn giao", "nhận máy"),
    "imei": _headers("imei", "số imei"),
    "note": _headers("note", "ghi chú"),
    "household_id": _headers("household_id", PRINTED["household_id"]),
}
REQUIRED = ("code", "handed", "imei")
TOTAL_LINE = fold(TOTAL) + ":"


@dataclass
class PaperReport:
    file: str
    recorded: int = 0  # handovers written
    not_handed: int = 0  # rows marked "no" (nothing written for them)
    issues: list[InputIssue] = field(default_factory=IssueLog)
    # the file's own header of each column, so that a problem names what the sender wrote
    labels: dict[str, str] = field(default_factory=dict)

    def at(self, row: int, column: str, message: str) -> None:
        self.issues.append(InputIssue(self.file, row, self.labels.get(column, column), message))

    @property
    def ok(self) -> bool:
        return not self.issues and not getattr(self.issues, "more", 0)


@dataclass(frozen=True)
class _Line:
    row: int
    code: str
    imei: str
    note: str
    household_id: str  # as written, if the file has the column; "" otherwise


def upload(session: Session, user: User, round_id: int, path: Path, name: str | None = None,
           limits: Limits | None = None) -> PaperReport:
    """Record the handovers of a signed paper list, all or none (see the module)."""
    name = name or path.name
    report = PaperReport(name)
    points = desk_points(session, user)
    lines = _read(path, name, limits or Limits(), report)
    if not lines and not report.ok:  # unreadable, or nothing the store could check
        session.rollback()
        return report
    session.rollback()  # a fresh transaction under the ledger's lock sees every commit
    try:
        ledger.lock(session)
        found = _allocations(session, round_id, [line.code for line in lines if line.code])
        _check_rows(session, lines, found, points, report)
        if not report.ok:
            session.rollback()
            report.issues.sort(key=lambda i: (i.row, i.column))
            return report
        now = stamp()
        for line in lines:
            allocation = found[line.code]
            allocation.handed_over_at = now
            session.add(Handover(
                round_id=round_id, household_id=allocation.household_id,
                point_id=allocation.point_id, officer=user.name[:100], at=now,
                outcome="handed", identity=IDENTITY,
                identity_note=f"signed on the paper list {name}"[:MAX_NOTE], imei=line.imei,
                iccid=None, note=line.note, via="paper"))
        session.flush()
        ledger.check(session, round_id)
        audit.record(session, user.name, "upload paper handover list", f"round {round_id}",
                     {"file": name, "recorded": len(lines), "not_handed": report.not_handed,
                      "points": sorted({found[line.code].point_id for line in lines})})
        session.commit()
    except IntegrityError:  # another officer recorded one of these phones meanwhile
        session.rollback()
        report.issues.append(InputIssue(name, 0, "", "another handover of one of these "
                                        "households or IMEIs was recorded while the file was "
                                        "checked; upload it again to see which"))
        return report
    except ledger.LedgerConflict as error:
        session.rollback()
        report.issues.append(InputIssue(name, 0, "", str(error)))
        return report
    except BaseException:
        session.rollback()
        raise
    report.recorded = len(lines)
    return report


def _read(path: Path, name: str, limits: Limits, report: PaperReport) -> list[_Line]:
    """The rows marked handed over, with every problem the file alone shows."""
    issues = report.issues
    if Path(name).suffix.lower() not in SUFFIXES:
        issues.append(InputIssue(name, 0, "", "send the list as .csv (UTF-8) or .xlsx"))
        return []
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        issues.append(InputIssue(name, 0, "", f"is {size / 2**20:.1f} MB; a paper list is at "
                                 f"most {limits.max_file_mb} MB"))
        return []
    raw = (open_xlsx(path, name, issues, limits, find_header=_is_header, until=_is_total)
           if Path(name).suffix.lower() != ".csv"
           else open_csv(path, issues, name=name, separator=_separator(path)))
    if raw is None:
        return []
    where = _columns(raw.header, name, issues)
    report.labels = {column: str(raw.header[at]).strip() for column, at in where.items()}
    lines: list[_Line] = []
    seen_codes: dict[str, int] = {}
    seen_imeis: dict[str, int] = {}
    rows = 0
    for chunk in raw.chunks:
        for row, cells in zip(chunk.index, chunk.itertuples(index=False, name=None),
                              strict=True):
            rows += 1
            if rows > MAX_ROWS:
                issues.append(InputIssue(name, int(row), "", f"a paper list has at most "
                                         f"{MAX_ROWS:,} rows"))
                return []
            if where and not _blank(cells):
                line = _line(int(row), cells, where, name, report, seen_codes, seen_imeis)
                if line is not None:
                    lines.append(line)
    if raw.failed:
        return []
    return lines


def _is_header(cells: list[str]) -> bool:
    """The printed list's header row, under its heading: it names the columns typed back."""
    found = {fold(c).replace("_", " ") for c in cells}
    return all(found & WANTED[column] for column in REQUIRED)


def _is_total(cells: list[str]) -> bool:
    """The printed list's total line ("Cộng: 37 hộ."): its signatures follow, not rows."""
    first = next((c for c in cells if c.strip()), "")
    return fold(first).startswith(TOTAL_LINE)


def _separator(path: Path) -> str:
    """';' when the header is split by semicolons and holds no comma: Excel saves CSV so
    where the list separator is ';', as in Vietnamese settings (the decimal mark is ',')."""
    with path.open("rb") as data:
        first = data.readline(64 * 1024).decode("utf-8-sig", errors="replace")
    return ";" if ";" in first and "," not in first else ","


def _columns(header: list[str], name: str, issues: list[InputIssue]) -> dict[str, int]:
    """Where each wanted column sits; an issue for a missing or repeated one."""
    where: dict[str, int] = {}
    for at, title in enumerate(header):
        key = fold(str(title)).replace("_", " ")
        for column, accepted in WANTED.items():
            if key in accepted:
                if column in where:
                    issues.append(InputIssue(name, 1, str(title), f"is a second {column} "
                                             "column; keep one"))
                where[column] = at
    missing = [c for c in REQUIRED if c not in where]
    if missing:
        issues.append(InputIssue(name, 1, "", "the header needs the columns " + ", ".join(
            missing) + " (code, handed over yes/no, IMEI; optional note)"))
        return {}
    return where


def _blank(cells: tuple[object, ...]) -> bool:
    return all(not str(c).strip() for c in cells)


def _line(row: int, cells: tuple[object, ...], where: dict[str, int], name: str,
          report: PaperReport, seen_codes: dict[str, int],
          seen_imeis: dict[str, int]) -> _Line | None:
    """A row marked handed over; its code or IMEI is "" when the file alone refutes it
    (said in the issues), so the store can still check the other."""
    text = {column: str(cells[at] if at < len(cells) else "").strip()
            for column, at in where.items()}
    bad = [column for column, value in text.items() if CONTROL.search(value)]
    for column in bad:
        report.at(row, column, "holds a control character (NUL, tab "
                                 "or line break): retype the cell")
    if bad:
        return None
    code = normalise_code(text["code"])
    if code is None:
        report.at(row, "code", "is a formula, not a pickup code"
                                 if text["code"].startswith(("=", "+", "-", "@")) else
                                 "is not a pickup code (8 letters and digits, as on the slip)"
                                 if text["code"] else
                                 "is empty: every row needs the household's pickup code")
    elif code in seen_codes:
        report.at(row, "code", f"{display_code(code)} is already on row "
                                 f"{seen_codes[code]}")
        code = None
    else:
        seen_codes[code] = row
    note = text.get("note", "")
    if len(note) > MAX_NOTE:
        report.at(row, "note", f"has more than {MAX_NOTE} characters")
    answer = fold(text["handed"])
    if answer not in YES and answer not in NO:
        report.at(row, "handed", "must be có/không, yes/no, x or empty, "
                                 "1/0")
        return None
    if answer in NO:
        if text["imei"]:
            report.at(row, "imei", "is filled in but the row is not "
                                     "marked handed over: mark it, or clear the IMEI")
        else:
            report.not_handed += 1
        return None
    imei, problem = check_imei(text["imei"])
    if problem or imei is None:
        report.at(row, "imei", problem or "is empty")
        imei = None
    elif imei in seen_imeis:
        report.at(row, "imei", f"is the same IMEI as row "
                                 f"{seen_imeis[imei]}: one phone, one household")
        imei = None
    else:
        seen_imeis[imei] = row
    return _Line(row, code or "", imei or "", note, text.get("household_id", ""))


def _allocations(session: Session, round_id: int, codes: list[str]) -> dict[str, AllocationRow]:
    open_round(session, round_id)
    found: dict[str, AllocationRow] = {}
    for start in range(0, len(codes), 10_000):  # PostgreSQL takes 65,535 parameters at most
        found.update({str(a.pickup_code): a for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == round_id,
                                        AllocationRow.pickup_code.in_(codes[start:start + 10_000]))
            .execution_options(populate_existing=True))})
    return found


def _check_rows(session: Session, lines: list[_Line], found: dict[str, AllocationRow],
                points: list[str] | None, report: PaperReport) -> None:
    """What the store says about each row: its code, point, state and IMEI."""
    imeis = [line.imei for line in lines if line.imei]
    taken: set[str] = set()
    for start in range(0, len(imeis), 10_000):
        taken.update(str(i) for i in session.scalars(select(Handover.imei).where(
            Handover.imei.in_(imeis[start:start + 10_000]), Handover.undone_at.is_(None))))
    for line in lines:
        allocation = found.get(line.code)
        shown = display_code(line.code)
        if not line.code:
            pass
        elif allocation is None:
            report.at(line.row, "code", f"{shown} is not a code "
                                            "of this round")
        elif points is not None and allocation.point_id not in points:
            report.at(line.row, "code", f"{shown} collects at "
                                            "another point, not yours")
        elif allocation.handed_over_at is not None:
            report.at(line.row, "code", f"{shown} was already "
                                            "handed over")
        elif line.household_id and line.household_id != allocation.household_id:
            report.at(line.row, "household_id", f"is not the "
                                            f"household of code {shown}: check the row")
        elif allocation.released_at is not None:
            report.at(line.row, "code", f"{shown}: the "
                                            "reservation was released (refused or not "
                                            "collected)")
        if line.imei and line.imei in taken:
            report.at(line.row, "imei", "is already recorded for "
                                            "another handover in the campaign")

