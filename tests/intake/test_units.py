"""Police units: the CSV import (file and command) and matching a parent's commune however it is typed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli_intake import units_import_command
from bot.intake.units_csv import HEADER, UnitsFileError, parse_units_csv
from storage.db import Database
from storage.units import commune_keys, list_units, match_commune, replace_units
from tests.intake.conftest import NOW

UNITS_CSV = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TANLOC,Công an xã Tân Lộc,96,32014,Xã Tân Lộc
CA-TANLOC,Công an xã Tân Lộc,96,32015,Xã Tân Lộc Bắc
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
CA-TT,Công an phường Tân Thành,96,31994,Phường 7
CA-TWIN,Công an phường Khánh Hòa,96,31995,Phường Khánh Hòa
CA-TWIN2,Công an xã Khánh Hòa,96,31996,Xã Khánh Hòa
"""


@pytest.fixture
async def units_db(database: Database) -> Database:
    parsed = parse_units_csv(UNITS_CSV.encode())
    await database.run(replace_units, units=parsed.units, communes=parsed.communes, now=NOW)
    return database


def test_keys_fold_diacritics_and_drop_the_prefix_but_not_from_numbers() -> None:
    assert commune_keys("Xã Tân Lộc") == ("xa tan loc", "tan loc")
    assert commune_keys("Đặc khu Hòn Khoai") == ("dac khu hon khoai", "hon khoai")
    assert commune_keys("Phường 7") == ("phuong 7", "phuong 7")


MATCHES = [
    ("Xã Tân Lộc", "32014"), ("xa tan loc", "32014"), ("TÂN LỘC", "32014"), ("  tân   lộc ", "32014"),
    ("x. Tân Lộc, huyện Thới Bình, Cà Mau", "32014"), ("Tân Lộc Bắc", "32015"), ("P. Tân Thành", "31993"),
    ("phuong tan thanh tp ca mau", "31993"), ("Phường 7", "31994"), ("phuong 7", "31994"),
    ("xa khanh hoa", "31996"), ("Phường Khánh Hòa", "31995"),
    ("7", None), ("Khánh Hòa", None),  # a bare number; a name two communes share: the province decides
    ("Hà Nội", None), ("", None),
]


async def test_commune_matching_is_forgiving(units_db: Database) -> None:
    def match_all(conn: sa.Connection) -> list[tuple[str, str | None]]:
        return [(typed, (found.code if (found := match_commune(conn, text=typed)) else None)) for typed, _ in MATCHES]

    assert await units_db.run(match_all) == MATCHES


async def test_reimport_replaces_the_map_and_keeps_units_with_tips(units_db: Database) -> None:
    smaller = "\n".join([",".join(HEADER), "CA-NEW,Công an tỉnh mới,96,,",
                         "CA-TANLOC,Công an xã Tân Lộc,96,32014,Xã Tân Lộc"])
    parsed = parse_units_csv(smaller.encode())
    assert await units_db.run(replace_units, units=parsed.units, communes=parsed.communes, now=NOW) == (2, 1)
    units = {u["id"]: u for u in await units_db.run(list_units)}
    assert units["CA-NEW"]["provincial"] and not units["CA-96"]["provincial"]  # one provincial unit
    assert units["CA-TT"]["communes"] == 0 and units["CA-TANLOC"]["communes"] == 1
    assert await units_db.run(match_commune, text="Tân Thành") is None


@pytest.mark.parametrize(("content", "fragment"), [
    ("unit,name\nA,B\n", "header must be exactly"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,1,Xã A\n", "exactly one unit must be provincial"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,,\nCA-2,Tỉnh 2,96,,\n", "found: CA-1 (line 2), CA-2 (line 3)"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,,\nCA-2,X,96,1,Xã A\nCA-3,Y,96,1,Xã B\n", "line 4: commune 1 is already"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,,\nCA-2,X,96,1\n", "line 3: 4 columns"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,,\nCA-2,X,96,,Xã A\n", "line 3: give both commune_code"),
    (",".join(HEADER) + "\nCA-1,Tỉnh,96,,\nCA-1,Tỉnh khác,96,1,Xã A\n", "line 3: unit CA-1 has a different"),
    (",".join(HEADER) + "\nbad id!,Tỉnh,96,,\n", "line 2: unit_id"),
])
def test_bad_files_are_refused_with_line_and_fix(content: str, fragment: str) -> None:
    with pytest.raises(UnitsFileError) as info:
        parse_units_csv(content.encode())
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_excel_bom_and_blank_lines_are_accepted() -> None:
    parsed = parse_units_csv(("\ufeff" + UNITS_CSV + "\n,,,,\n").encode())
    assert len(parsed.units) == 5 and len(parsed.communes) == 6


def test_import_units_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    file = tmp_path / "units.csv"
    file.write_text(UNITS_CSV, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(units_import_command, [str(file), "--dry-run"])
    assert result.exit_code == 0 and "ok (dry run): 5 unit(s), 6 commune(s)" in result.output
    result = runner.invoke(units_import_command, [str(file)])
    assert result.exit_code == 0, result.output
    assert "provincial unit: CA-96 (Công an tỉnh Cà Mau)" in result.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM unit_communes")).scalar_one() == 6
    engine.dispose()
    file.write_text("nope\n", encoding="utf-8")
    result = runner.invoke(units_import_command, [str(file)])
    assert result.exit_code == 1 and "header must be exactly" in result.output
