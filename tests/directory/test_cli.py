"""``advocacy data load``: per-table counts, and "file:line: reason" with exit status 1 on a bad file."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from advocacy.cli import main


def test_load_prints_counts(loaded_data: dict[str, int]) -> None:
    result = CliRunner().invoke(main, ["data", "load"])
    assert result.exit_code == 0, result.output
    assert "cities                    482  (created 0, updated 0, unchanged 482, deleted 0)" in result.output
    assert "city_districts           1090" in result.output


def test_bad_file_exits_1_with_file_and_line(loaded_data: dict[str, int], tmp_path: Path) -> None:
    from advocacy import DATA_DIR

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "city_districts.csv"
    path.chmod(0o644)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace("census_rel", "census_rel").rsplit(",", 2)[0] + ",abc,census_rel_sld2024_place2020"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["data", "load", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert f"{path}:5: share: 'abc' is not a number" in result.output
