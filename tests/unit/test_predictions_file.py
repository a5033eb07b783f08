"""trainflow predict's output, written a chunk at a time and in place only once complete."""

import pandas as pd
import pytest

from flows.predict import PredictionsFile, UnwritableOutput


def chunks() -> list[pd.DataFrame]:
    ids = [f"new.csv:{i}" for i in range(5)]
    frame = pd.DataFrame({"id": ids, "predicted": list("ababa"), "p_a": [0.9, 0.2, 0.8, 0.1, 0.7]})
    frame["p_b"] = 1 - frame["p_a"]
    return [frame.iloc[:2], frame.iloc[2:4], frame.iloc[4:]]


@pytest.mark.parametrize("name", ["predictions.csv", "predictions.parquet"])
def test_chunks_make_one_file_that_reads_back_as_the_whole_table(tmp_path, name):
    out = tmp_path / name
    written = PredictionsFile(out)
    for chunk in chunks():
        written.write(chunk)
        assert not out.exists()  # in place only once complete
    written.close()
    read = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
    pd.testing.assert_frame_equal(read, pd.concat(chunks(), ignore_index=True))
    assert written.rows == 5 and [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("name", ["predictions.csv", "predictions.parquet"])
def test_a_failed_run_leaves_the_last_good_file(tmp_path, name):
    out = tmp_path / name
    out.write_bytes(b"the last good predictions")
    written = PredictionsFile(out)
    written.write(chunks()[0])
    written.discard()
    assert out.read_bytes() == b"the last good predictions"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_new_folder_is_made_and_an_unwritable_path_is_named_as_asked(tmp_path):
    written = PredictionsFile(tmp_path / "new/folder/predictions.csv")
    written.write(chunks()[0])
    written.close()
    assert (tmp_path / "new/folder/predictions.csv").exists()
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file/predictions.csv"
    with pytest.raises(UnwritableOutput) as raised:
        PredictionsFile(out).write(chunks()[0])
    assert (
        raised.value.filename == str(out) and raised.value.strerror == "File exists"
    )  # mkdir of a-file
