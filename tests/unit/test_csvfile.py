"""CSV files as people export them: the dialect is found, or the error shows the file."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.common.errors import DataValidationError, ExitCode
from tasks.data.csvfile import Dialect, read_csv, sniff
from tasks.data.layout import read_table_file

EUROPEAN = "kunde;preis;stadt;menge\nMüller;1,5;Köln;3\nStraße;2,25;Zürich;4\nÖzil;-0,75;Graz;5\n"


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_semicolons_decimal_commas_and_windows_1252_read_as_numbers(tmp_path):
    path = write(tmp_path, EUROPEAN, "cp1252")
    frame = read_csv(path)
    assert list(frame.columns) == ["kunde", "preis", "stadt", "menge"]
    assert frame["preis"].tolist() == [1.5, 2.25, -0.75]
    assert frame["kunde"].tolist() == ["Müller", "Straße", "Özil"]
    assert "separator ';', decimal mark ','" in frame.attrs["csv_dialect"]


def test_thousands_grouped_with_points(tmp_path):
    path = write(tmp_path, "id;amount\n1;1.234,50\n2;12,5\n3;1.000.000,01\n")
    assert sniff(path) == Dialect("utf-8", ";", ",", ".")
    assert read_csv(path)["amount"].tolist() == [1234.5, 12.5, 1000000.01]


def test_semicolons_with_decimal_points_keep_points(tmp_path):
    path = write(tmp_path, "a;b\n1.5;x\n2.5;y\n")
    assert sniff(path) == Dialect("utf-8", ";", ".", None)
    assert read_csv(path)["a"].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\tb\n1\tx\n2\ty\n", "\t"),
        ("a|b\n1|x\n2|y\n", "|"),
        ('name,note\nann,"likes a, b; c"\nbob,"x; y"\n', ","),
        ("label\ncat\ndog\n", ","),
    ],
    ids=["tab", "pipe", "quoted separators", "one column"],
)
def test_separator_is_the_one_that_splits_every_row_alike(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert sniff(path).separator == expected
    frame = read_csv(path)
    assert len(frame) == 2 and len(frame.columns) == text.splitlines()[0].count(expected) + 1


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = write(tmp_path, "id,label\n1,a\n", "utf-8-sig")
    assert list(read_csv(path).columns) == ["id", "label"]


def test_ragged_file_says_what_it_looks_like(tmp_path):
    path = write(tmp_path, "a;b;c\n1;2\n3;4;5;6\n7\n8;9;10;11;12\n")
    with pytest.raises(DataValidationError) as err:
        read_csv(path)
    message = str(err.value)
    assert err.value.code == ExitCode.DATA_INVALID
    assert "data.csv: cannot tell how the columns are separated" in message
    assert "the first line is 'a;b;c'" in message and "';' gives 1-5 fields per line" in message


def test_binary_and_empty_files_are_named(tmp_path):
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(DataValidationError, match="image.csv: does not look like a text file"):
        read_csv(binary)
    with pytest.raises(DataValidationError, match="empty.csv is empty"):
        read_csv(write(tmp_path, "\n\n", name="empty.csv"))


def test_serving_reads_a_csv_exactly_as_training_does(tmp_path):
    """`trainflow predict` and ingest share `read_table_file`, dialect included."""
    from tasks.common.params import DataParams
    from tasks.data.layout import read_raw_table
    from tasks.ingest import ingest

    path = write(tmp_path, EUROPEAN, "cp1252")
    ingest(DataParams(source=str(path), target="stadt"), tmp_path / "raw")
    trained_on = read_raw_table(tmp_path / "raw")
    served = read_table_file(path)
    pd.testing.assert_frame_equal(trained_on, served, check_dtype=True)


def test_a_repetitive_windows_export_keeps_its_letters(tmp_path):
    """Few distinct words, one of them with ß: the guess must still decode them right."""
    rows = "\n".join(f"{i};{i},5;{['weiß', 'schwarz', 'braun'][i % 3]}" for i in range(300))
    path = write(tmp_path, f"Nr;Gewicht;Farbe\n{rows}\n", "cp1252")
    assert set(read_csv(path)["Farbe"]) == {"weiß", "schwarz", "braun"}
