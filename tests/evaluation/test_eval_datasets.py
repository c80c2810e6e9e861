"""Readers of the benchmarks' official layouts, on miniature toy-world copies of each layout."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers.eval_layouts import (
    make_clotho,
    make_desed,
    make_esc50,
    make_us8k,
    make_vggsound,
    underscored,
)
from wavbrivl.errors import InputError
from wavbrivl.evaluation.datasets import (
    DESED_CLASSES,
    READERS,
    DatasetError,
    read_clotho,
    read_desed,
    read_esc50,
    read_us8k,
    read_vggsound,
)
from wavbrivl.toyworld.world import CLASSES

TOY_NAMES = [c.name for c in CLASSES]
BUILDERS = {
    "esc50": make_esc50,
    "us8k": make_us8k,
    "vggsound": make_vggsound,
    "desed": make_desed,
    "clotho": make_clotho,
}
METADATA = {
    "esc50": "meta/esc50.csv",
    "us8k": "metadata/UrbanSound8K.csv",
    "vggsound": "vggsound.csv",
    "desed": "metadata/validation/validation.tsv",
    "clotho": "clotho_captions_evaluation.csv",
}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """Every miniature layout, built once for the module (tests that change files work on copies)."""
    base = tmp_path_factory.mktemp("layouts")
    return {name: build(base / name) for name, build in BUILDERS.items()}


def copy_layout(layouts: dict[str, Path], name: str, tmp_path: Path) -> Path:
    """A private copy of one layout, safe to change."""
    return Path(shutil.copytree(layouts[name], tmp_path / name))


def read_table(path: Path, delimiter: str = ",") -> list[list[str]]:
    """All rows of a csv/tsv file, header first."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def write_table(path: Path, rows: list[list[str]], delimiter: str = ",") -> None:
    """Overwrite a csv/tsv file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)


def edit_cell(path: Path, line: int, column: str, value: str, delimiter: str = ",") -> None:
    """Set one cell, addressed by file line number (the header is line 1) and column name."""
    rows = read_table(path, delimiter)
    rows[line - 1][rows[0].index(column)] = value
    write_table(path, rows, delimiter)


# ---------------------------------------------------------------- reading each layout


def test_readers_table() -> None:
    assert set(READERS) == {"esc50", "us8k", "vggsound", "desed", "clotho"}
    assert READERS["esc50"] is read_esc50 and READERS["clotho"] is read_clotho
    assert issubclass(DatasetError, InputError)


def test_esc50(layouts) -> None:
    data = read_esc50(layouts["esc50"])
    assert data.name == "esc50" and data.root == layouts["esc50"]
    assert data.classes == [underscored(i) for i in range(8)] and data.classes[0] == "red_circle"
    assert len(data.items) == 5 * 8 * 2 and data.missing == []
    assert data.folds() == [1, 2, 3, 4, 5]
    assert all(sum(item.fold == fold for item in data.items) == 16 for fold in data.folds())
    for item in data.items:
        fold, _, _, target = item.id.split("-")
        assert (item.fold, item.label) == (int(fold), int(target)) and item.path.is_file()
    assert len({item.id for item in data.items}) == len(data.items)


def test_us8k(layouts) -> None:
    data = read_us8k(layouts["us8k"])
    assert data.classes == [underscored(i) for i in range(8)]
    assert len(data.items) == 10 * 8 and data.folds() == list(range(1, 11))
    for item in data.items:
        assert item.path.parent.name == f"fold{item.fold}" and item.path.is_file()
        assert item.label == int(item.id.split("-")[1])


def test_vggsound(layouts) -> None:
    data = read_vggsound(layouts["vggsound"])
    assert data.classes == sorted(TOY_NAMES) and data.missing == []
    assert len(data.split("train")) == 8 * 4 and len(data.split("test")) == 8 * 2
    rows = {f"{r[0]}_{int(r[1]):06d}": r for r in read_table(layouts["vggsound"] / "vggsound.csv")}
    for item in data.items:
        assert item.path == layouts["vggsound"] / "video" / f"{item.id}.mp4" and item.path.is_file()
        assert data.classes[item.label] == rows[item.id][2] and item.split == rows[item.id][3]
    assert data.folds() == []


def test_vggsound_wavs_other_names_and_quoted_labels(tmp_path) -> None:
    root = make_vggsound(tmp_path / "vgg", train_per_class=1, test_per_class=1, videos=False)
    rows = read_table(root / "vggsound.csv")
    ytid, start = rows[0][0], int(rows[0][1])
    nested = root / "more" / "deeper"
    nested.mkdir(parents=True)
    (root / "audio" / f"{ytid}_{start:06d}.wav").rename(nested / f"{ytid}_{start * 1000}_{(start + 10) * 1000}.flac")
    sf.write(root / "audio" / "zzzzzzzzzzz.wav", np.zeros(1600, np.float32), 16000)
    rows.append(["zzzzzzzzzzz", "30", "male speech, man speaking", "test"])
    write_table(root / "vggsound.csv", [["# YouTube ID", " start seconds", " label", " train/test split"], *rows])
    data = read_vggsound(root)
    assert "male speech, man speaking" in data.classes and len(data.classes) == 9
    assert len(data.items) == 17 and data.missing == []
    first = next(item for item in data.items if item.id == f"{ytid}_{start:06d}")
    assert first.path.parent == nested
    last = next(item for item in data.items if item.id == "zzzzzzzzzzz_000030")
    assert data.classes[last.label] == "male speech, man speaking"


def test_vggsound_missing_videos_are_listed(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "vggsound", tmp_path)
    deleted = sorted(root.glob("video/*.mp4"))[:3]
    for path in deleted:
        path.unlink()
    data = read_vggsound(root)
    assert sorted(data.missing) == sorted(path.stem for path in deleted)
    assert len(data.items) == 48 - 3 and len(data.classes) == 8
    with pytest.raises(DatasetError, match=r"3 of the 48 media files .*vggsound\.csv are missing"):
        read_vggsound(root, allow_missing=False)


def test_vggsound_csv_path_and_bad_split(layouts, tmp_path) -> None:
    meta = tmp_path / "elsewhere.csv"
    shutil.copy(layouts["vggsound"] / "vggsound.csv", meta)
    assert len(read_vggsound(layouts["vggsound"], csv_path=meta).items) == 48
    edit_cell_rows = read_table(meta)
    edit_cell_rows[4][3] = "validation"
    write_table(meta, edit_cell_rows)
    with pytest.raises(DatasetError, match=r"elsewhere\.csv, line 5: split 'validation'.*\['train', 'test'\]"):
        read_vggsound(layouts["vggsound"], csv_path=meta)


def test_desed(layouts) -> None:
    """The reader against the layout's own table, read here with the csv module: one item per listed file, in the
    table's order, with its events as (onset, offset, class index), and a file listed without events kept."""
    root = layouts["desed"]
    data = read_desed(root)
    expected: dict[str, list[tuple[float, float, int]]] = {}
    with open(root / METADATA["desed"], newline="") as table:
        for row in csv.DictReader(table, delimiter="\t"):
            events = expected.setdefault(row["filename"], [])
            if row["onset"]:
                events.append((float(row["onset"]), float(row["offset"]), DESED_CLASSES.index(row["event_label"])))
    assert data.classes == list(DESED_CLASSES) and data.missing == [] and data.split("validation") == data.items
    assert [item.path for item in data.items] == [root / "audio" / "validation" / name for name in expected]
    for item in data.items:
        assert item.id == item.path.stem and item.split == "validation" and item.label is None
        assert item.events == sorted(expected[item.path.name])
    assert sum(not item.events for item in data.items) == sum(not events for events in expected.values()) > 0


def test_desed_events_of_a_hand_written_table(tmp_path) -> None:
    """Rows of one file apart and out of order, a file with no event, a tab-separated table with short rows."""
    audio = tmp_path / "audio" / "validation"
    audio.mkdir(parents=True)
    for name in ("b.wav", "a.wav", "quiet.wav"):
        sf.write(audio / name, np.zeros(1600, dtype=np.float32), 16000)
    table = tmp_path / METADATA["desed"]
    table.parent.mkdir(parents=True)
    table.write_text(
        "filename\tonset\toffset\tevent_label\n"
        "b.wav\t3.5\t4.0\tDog\n"
        "a.wav\t0.25\t1\tSpeech\n"
        "b.wav\t0.0\t1.5\tCat\n"
        "quiet.wav\n"
    )
    data = read_desed(tmp_path)
    assert [(item.id, item.events) for item in data.items] == [
        ("b", [(0.0, 1.5, DESED_CLASSES.index("Cat")), (3.5, 4.0, DESED_CLASSES.index("Dog"))]),
        ("a", [(0.25, 1.0, DESED_CLASSES.index("Speech"))]),
        ("quiet", []),
    ]


def test_clotho(layouts) -> None:
    """The reader against the layout's captions table, read here with the csv module: each clip's five captions in
    the table's order and its file in the split's folder."""
    root = layouts["clotho"]
    data = read_clotho(root)
    with open(root / METADATA["clotho"], newline="") as table:
        rows = list(csv.DictReader(table))
    assert data.classes == [] and data.missing == [] and data.split("evaluation") == data.items
    assert [item.id for item in data.items] == [Path(row["file_name"]).stem for row in rows]
    for item, row in zip(data.items, rows):
        assert item.path == root / "evaluation" / row["file_name"] and item.path.is_file()
        assert item.captions == [row[f"caption_{k}"] for k in range(1, 6)]
        assert item.label is None and item.events == []


def test_clotho_audio_in_unpacked_archive_folder(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "clotho", tmp_path)
    (root / "clotho_audio_evaluation").mkdir()
    (root / "evaluation").rename(root / "clotho_audio_evaluation" / "evaluation")
    data = read_clotho(root)
    assert len(data.items) == 24
    assert all(item.path.parent == root / "clotho_audio_evaluation" / "evaluation" for item in data.items)


# ---------------------------------------------------------------- clear errors


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_missing_metadata_names_the_expected_path(name, tmp_path) -> None:
    with pytest.raises(DatasetError) as error:
        READERS[name](tmp_path)
    message = str(error.value)
    assert str(tmp_path / METADATA[name]) in message and "not found" in message


def test_missing_metadata_points_into_an_unpacked_archive_folder(layouts, tmp_path) -> None:
    shutil.copytree(layouts["esc50"], tmp_path / "ESC-50-master")
    with pytest.raises(DatasetError, match=r"meta/esc50\.csv and audio/\*\.wav") as error:
        read_esc50(tmp_path)
    assert f"pass {tmp_path / 'ESC-50-master'} as the root" in str(error.value)


def test_csv_missing_a_column(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "esc50", tmp_path)
    meta = root / "meta" / "esc50.csv"
    write_table(meta, [[cell for i, cell in enumerate(row) if i != 1] for row in read_table(meta)])
    with pytest.raises(DatasetError) as error:
        read_esc50(root)
    message = str(error.value)
    assert str(meta) in message and "missing ['fold']" in message and "'src_file'" in message


def test_tsv_with_an_extra_column(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "desed", tmp_path)
    meta = root / "metadata" / "validation" / "validation.tsv"
    write_table(meta, [[*row, "x"] for row in read_table(meta, "\t")], "\t")
    with pytest.raises(DatasetError, match=r"validation\.tsv: the header has columns .*\(unexpected \['x'\]"):
        read_desed(root)


@pytest.mark.parametrize("name", ["esc50", "us8k"])
def test_non_integer_fold(name, layouts, tmp_path) -> None:
    root = copy_layout(layouts, name, tmp_path)
    meta = root / METADATA[name]
    edit_cell(meta, 3, "fold", "two")
    with pytest.raises(DatasetError, match="line 3: fold 'two' is not an integer") as error:
        READERS[name](root)
    assert str(meta) in str(error.value)


def test_one_target_one_category(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "esc50", tmp_path)
    edit_cell(root / "meta" / "esc50.csv", 3, "category", "dog")
    with pytest.raises(DatasetError, match=r"esc50\.csv, line 3: target 0 is 'dog' here but 'red_circle' on line 2"):
        read_esc50(root)


def test_esc50_missing_audio(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "esc50", tmp_path)
    gone = [root / "audio" / "1-100001-A-0.wav", root / "audio" / "5-100080-A-7.wav"]
    for path in gone:
        path.unlink()
    with pytest.raises(DatasetError) as error:
        read_esc50(root)
    message = str(error.value)
    assert "2 of the 80 media files" in message and str(root / "meta" / "esc50.csv") in message
    assert str(gone[0]) in message and "allow_missing=True" in message
    data = read_esc50(root, allow_missing=True)
    assert len(data.items) == 78 and data.missing == ["1-100001-A-0", "5-100080-A-7"]


def test_no_media_at_all_is_an_error_even_when_allowed(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "clotho", tmp_path)
    shutil.rmtree(root / "evaluation")
    with pytest.raises(DatasetError, match=r"none of the 24 media files listed in .*clotho_captions_evaluation\.csv"):
        read_clotho(root, allow_missing=True)


def test_desed_unknown_label(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "desed", tmp_path)
    meta = root / "metadata" / "validation" / "validation.tsv"
    edit_cell(meta, 2, "event_label", "Toaster", "\t")
    with pytest.raises(DatasetError) as error:
        read_desed(root)
    message = str(error.value)
    assert f"{meta}, line 2: event_label 'Toaster' is not a DESED class" in message and "Vacuum_cleaner" in message


def test_desed_onset_after_offset(layouts, tmp_path) -> None:
    root = copy_layout(layouts, "desed", tmp_path)
    meta = root / "metadata" / "validation" / "validation.tsv"
    edit_cell(meta, 2, "onset", "5.5", "\t")
    edit_cell(meta, 2, "offset", "4.0", "\t")
    with pytest.raises(DatasetError, match=r"validation\.tsv, line 2: onset 5\.5 s is after offset 4 s"):
        read_desed(root)


def test_vggsound_conflicting_rows_keep_the_first_with_a_warning(tmp_path):
    root = make_vggsound(tmp_path / "vgg", train_per_class=1, test_per_class=1, videos=False)
    csv_path = root / "vggsound.csv"
    first = csv_path.read_text().splitlines()[0].split(",")
    with csv_path.open("a") as handle:
        handle.write(f"{first[0]},{first[1]},some other label,{first[-1]}\n")
    with pytest.warns(UserWarning, match="keeping line 1"):
        data = read_vggsound(root)
    assert "some other label" not in data.classes
