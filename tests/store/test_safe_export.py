"""Files people open in a spreadsheet: no text becomes a formula, nothing else changes.

Unit tests of the one writer (`allocator.tabular`), then the handover list and
the sponsor figures downloaded through the service from a round whose names
were typed to attack whoever opens them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user
from allocator.tabular import DANGEROUS, csv_bytes, safe_cell, safe_text, xlsx_bytes
from api.main import create_app
from api.settings import Settings

ATTACKS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
           "\tTab led", "\rCR led", "=1+1", "Nguyễn Thị Hoa"]
MODEL, SPONSOR, POINT, COMMUNE = "=Mẫu(1)", "=Nhà tài trợ", "=Điểm nhận", "-Phường 1"


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would garble Vietnamese"
    text = data[3:].decode("utf-8")
    assert "\n" not in text.replace("\r\n", "") or '"' in text
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_xlsx(data: bytes) -> list[list[openpyxl.cell.Cell]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in book.active.iter_rows()]


def _xml(text: str) -> str:
    """A text as read back from XLSX: XML turns "\r\n" and a lone "\r" into "\n"."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# The writer itself.

def test_dangerous_text_gets_one_quote_and_numbers_stay_numbers() -> None:
    for attack in ATTACKS[:-1]:
        assert safe_text(attack) == "'" + attack
    assert safe_text("Nguyễn Thị Hoa") == "Nguyễn Thị Hoa"
    assert safe_text("'=x") == "'=x"  # already text to a spreadsheet
    assert safe_cell(-5) == -5 and safe_cell(2.5) == 2.5 and safe_cell(float("nan")) is None
    assert safe_cell("-5") == "'-5" and safe_cell(None) is None


def test_csv_is_bom_crlf_and_keeps_vietnamese() -> None:
    data = csv_bytes(["Họ tên", "Số"], [["Trần Văn Ơn", 3], ["=1+1", -4]])
    assert data == ('\ufeff"Họ tên","Số"\r\n"Trần Văn Ơn",3\r\n"\'=1+1",-4\r\n').encode()


def test_xlsx_cells_are_strings_or_numbers_never_formulas() -> None:
    rows = _read_xlsx(xlsx_bytes(["a", "b"], [[attack, -7] for attack in ATTACKS], "Trang"))
    assert [c.value for c in rows[0]] == ["a", "b"]
    for attack, (text, number) in zip(ATTACKS, rows[1:], strict=True):
        assert text.data_type == "s" and number.data_type == "n" and number.value == -7
        assert text.value == _xml(safe_text(attack))


def test_xlsx_replaces_characters_xml_cannot_hold() -> None:
    rows = _read_xlsx(xlsx_bytes(["a"], [["A\x00B\x1fC"]], "Trang"))
    assert rows[1][0].value == "A\ufffdB\ufffdC"


XML_TEXT = st.text(st.characters(codec="utf-8",
                                 exclude_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08"
                                 "\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
                                 "\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff"))


def _unquoted(written: str, original: str) -> str:
    assert not written.startswith(DANGEROUS), repr(written)
    if original.startswith(DANGEROUS):
        assert written.startswith("'")
        return written[1:]
    return written


@settings(max_examples=200)
@given(st.lists(st.text(), min_size=1, max_size=4))
def test_any_text_comes_back_from_csv_less_one_quote(texts: list[str]) -> None:
    back = _read_csv(csv_bytes(["h"] * len(texts), [texts]))[1]
    assert [_unquoted(w, t) for w, t in zip(back, texts, strict=True)] == texts


@settings(max_examples=60)
@given(st.lists(XML_TEXT, min_size=1, max_size=4))
def test_any_text_comes_back_from_xlsx_less_one_quote(texts: list[str]) -> None:
    cells = _read_xlsx(xlsx_bytes(["h"] * len(texts), [texts], "Trang"))[1]
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    back = [c.value or "" for c in cells]  # an empty string is read back as an empty cell
    back += [""] * (len(texts) - len(back))
    assert [_unquoted(w, t) for w, t in zip(back, texts, strict=True)] == [_xml(t) for t in texts]


# Through the service: a round made from attacking names, solved and approved.

def _folder(folder: Path) -> None:
    folder.mkdir()
    pd.DataFrame({
        "household_id": [f"HH{i:02d}" for i in range(len(ATTACKS))], "commune_code": "26740",
        "poverty_status": "poor", "members": 3, "twog_handsets": 1, "smartphones": 0,
        "flags": "", "needs": "", "lat": "", "lon": "", "head_name": ATTACKS,
        "phone": ["+84912345678", "=2*3", "@x", "-1", "0912", "0913", "0914", "0915"],
    }).to_csv(folder / "households.csv", index=False, quoting=csv.QUOTE_ALL)  # keeps the "\r"
    pd.DataFrame([{"lot_id": "L1", "sponsor_id": "OP1", "sponsor_name": SPONSOR,
                   "model": MODEL, "network": "4G", "quantity": 20, "unit_price_vnd": 1_000_000,
                   "sponsor_subsidy_vnd": 1_000_000, "features": "", "allowed_communes": "",
                   "allowed_statuses": ""}]).to_csv(folder / "lots.csv", index=False)
    pd.DataFrame([{"point_id": "P1", "name": POINT, "commune_code": "26740", "lat": "",
                   "lon": "", "capacity": 20}]).to_csv(folder / "points.csv", index=False)
    pd.DataFrame([{"commune_code": "26740", "name": COMMUNE, "lat": 10.78,
                   "lon": 106.70}]).to_csv(folder / "communes.csv", index=False)
    (folder / "round.json").write_text(json.dumps({"budget_vnd": 100_000_000, "seed": 1}))


@pytest.fixture()
def service(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, dict[str, str], int]]:
    folder = tmp_path / "attack"
    _folder(folder)
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("communes", "lots", "points", "households"):
            assert import_file(session, kind, folder / f"{kind}.csv", "setup").ok
        round_id = import_folder_as_round(session, folder, "Đợt =1", "setup").id
        solve_round(session, round_id, "setup")
        approve_round(session, round_id, "setup")
        tokens = {"planner": add_user(session, "an", "planner", None, "setup")[1],
                  "sponsor": add_user(session, "s1", "sponsor", "OP1", "setup")[1]}
    engine.dispose()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        yield client, tokens, round_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _check_handover(rows: list[list[object]], read: Callable[[str], str] = str) -> None:
    header, body = rows[0], rows[1:]
    assert len(body) == len(ATTACKS), "every household is served in this round"
    names = {str(r[header.index("Mã hộ")]): r for r in body}
    for i, attack in enumerate(ATTACKS):
        row = names[f"HH{i:02d}"]
        # the import trims a name's surrounding blanks, so "\tTab led" is stored as "Tab led"
        assert row[header.index("Họ tên chủ hộ")] == read(safe_text(attack.strip()))
        # a point's printed list names neither its sponsor nor its point on every row
        for column, text in (("Mẫu máy", MODEL), ("Nhà tài trợ", SPONSOR),
                             ("Điểm nhận", POINT), ("Xã, phường", COMMUNE)):
            if column in header:
                assert row[header.index(column)] == "'" + text
    phones = {str(r[header.index("Số điện thoại")]) for r in body}
    assert {"'+84912345678", "'=2*3", "'@x", "'-1", "0912"} <= phones
    for row in body:
        for value in row:
            assert not str(value or "").startswith(DANGEROUS), row


def test_the_handover_list_keeps_names_as_text(
        service: tuple[TestClient, dict[str, str], int]) -> None:
    client, tokens, round_id = service
    done = client.get(f"/api/rounds/{round_id}/handover?format=xlsx",
                      headers=_bearer(tokens["planner"]))
    assert done.status_code == 200, done.text
    sheet = _read_xlsx(done.content)
    assert all(c.data_type != "f" for row in sheet for c in row)
    # the paper's heading and signatures (the point's name is in its heading) are safe too
    assert not [c.value for row in sheet for c in row if str(c.value or "").startswith(DANGEROUS)]
    top = next(i for i, row in enumerate(sheet) if row[0].value == "STT")
    end = next(i for i, row in enumerate(sheet) if str(row[0].value).startswith("Cộng:"))
    cells = sheet[top:end]  # the table: its header row, then the households
    _check_handover([[c.value for c in row] for row in cells], _xml)
    stt = [c for c in cells[0] if c.value == "STT"][0].column - 1
    assert all(row[stt].data_type == "n" for row in cells[1:]), "numbers stay numbers"

    done = client.get(f"/api/rounds/{round_id}/handover?format=csv",
                      headers=_bearer(tokens["planner"]))
    assert done.status_code == 200, done.text
    _check_handover(_read_csv(done.content))  # type: ignore[arg-type]


def test_the_sponsor_figures_keep_names_as_text(
        service: tuple[TestClient, dict[str, str], int]) -> None:
    client, tokens, round_id = service
    url = f"/api/sponsor/rounds/{round_id}/distribution"
    tables = {}
    for table in ("lots", "communes"):
        done = client.get(f"{url}.csv?table={table}", headers=_bearer(tokens["sponsor"]))
        assert done.status_code == 200, done.text
        tables[table] = _read_csv(done.content)
    assert tables["lots"][1][1] == "'" + MODEL  # under the header: the lot, its model
    assert [r[1] for r in tables["communes"][1:]] == ["'" + COMMUNE]
    assert all(not v.startswith(DANGEROUS) for rows in tables.values() for r in rows for v in r)
    done = client.get(f"{url}.xlsx", headers=_bearer(tokens["sponsor"]))
    book = openpyxl.load_workbook(io.BytesIO(done.content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert not [c.value for c in cells if str(c.value or "").startswith(DANGEROUS)]
    assert "'" + MODEL in {c.value for c in cells}


@pytest.mark.parametrize("separator", [",", ";"])
def test_no_cell_starts_a_formula_whichever_separator_excel_splits_at(separator: str) -> None:
    """Excel in Vietnamese splits CSV at semicolons: a name holding `;=` must not make a
    cell of its own there."""
    import csv
    import io

    from allocator.tabular import DANGEROUS, csv_bytes

    names = ["Lan;=cmd|' /C calc'!A0", "a;+1", "b;@SUM(1)", "c;-2", "Nguyễn Văn A", "x,=1"]
    text = csv_bytes(["name", "n"], [[name, 3] for name in names]).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text), delimiter=separator):
        for cell in row:
            assert not cell.startswith(DANGEROUS), (separator, row)
