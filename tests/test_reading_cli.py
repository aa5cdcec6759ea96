"""digitnet predict on the command line: plain text, JSON Lines, pictures, and one error line per bad image."""

import json

import numpy as np
import pytest
from PIL import Image

from digitnet.cli import main
from digitnet.reading.synthetic import make_page


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, mnist):
    page = make_page("rows", np.random.default_rng(11), mnist.test_images, mnist.test_labels)
    path = tmp_path_factory.mktemp("pages") / "page.png"
    page.image.save(path)
    return path


@pytest.fixture
def blank_file(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (200, 120), 240).save(path)
    return path


def test_plain_output_gives_the_text_then_one_line_per_digit(page_file, capsys):
    assert main(["predict", str(page_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 8 and " / " in lines[0]
    assert all("box (" in line and "%" in line for line in lines[1:])


def test_json_prints_one_object_per_image_and_nothing_else(page_file, blank_file, capsys):
    assert main(["predict", "--json", str(page_file), str(blank_file)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in records] == [str(page_file), str(blank_file)]
    assert len(records[0]["digits"]) == 8 and records[0]["text"].count("\n") == 1
    assert records[1] == {"image": str(blank_file), "text": "", "confidence": 1.0, "digits": []}
    assert 0 < records[0]["confidence"] <= 1


def test_blank_page_says_no_digits_found_and_exits_0(blank_file, capsys):
    assert main(["predict", str(blank_file)]) == 0
    assert "no digits found" in capsys.readouterr().out


def test_one_bad_image_does_not_stop_the_others_and_exit_code_says_so(page_file, tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    code = main(["predict", "--json", str(bad), str(page_file), str(tmp_path / "missing.png")])
    out, err = capsys.readouterr()
    assert code == 2
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(page_file)]
    errors = err.splitlines()
    assert len(errors) == 2 and "notes.png" in errors[0] and "missing.png" in errors[1]
    assert "Traceback" not in err


def test_annotate_and_crops_write_png_files(page_file, tmp_path, capsys):
    annotated, crops = tmp_path / "out" / "annotated.png", tmp_path / "crops.png"
    assert main(["predict", str(page_file), "--annotate", str(annotated), "--crops", str(crops)]) == 0
    with Image.open(annotated) as a, Image.open(crops) as c:
        assert a.size == Image.open(page_file).size and c.width > c.height
    assert not list(tmp_path.glob("**/*.part"))


def test_several_images_annotated_write_numbered_files_in_the_format_named_and_say_so(page_file, blank_file,
                                                                                     tmp_path, capsys):
    out = tmp_path / "annotated.jpg"
    assert main(["predict", str(page_file), str(blank_file), "--annotate", str(out),
                 "--crops", str(tmp_path / "crops.webp")]) == 0
    written = [tmp_path / name for name in ("annotated-1.jpg", "annotated-2.jpg", "crops-1.webp", "crops-2.webp")]
    for path, format in zip(written, ("JPEG", "JPEG", "WEBP", "WEBP")):
        with Image.open(path) as picture:
            assert picture.format == format
    assert not out.exists()
    err = capsys.readouterr().err
    assert all(f"wrote {path}" in err for path in written)


@pytest.mark.parametrize("name", ["annotated.gif", "annotated"])
def test_an_annotation_file_without_a_known_image_suffix_is_refused_before_reading(page_file, tmp_path, capsys,
                                                                                   name):
    assert main(["predict", str(page_file), "--annotate", str(tmp_path / name)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and ".png, .jpg" in err
    assert list(tmp_path.iterdir()) == []


def test_annotating_over_an_input_image_is_refused_and_leaves_it_untouched(page_file, blank_file, capsys):
    before = blank_file.read_bytes()
    assert main(["predict", str(blank_file), "--annotate", str(blank_file)]) == 2
    assert "over the input image" in capsys.readouterr().err
    assert blank_file.read_bytes() == before
    numbered = blank_file.with_name("blank-2.png")  # what two images annotated as blank.png would write second
    numbered.write_bytes(before)
    assert main(["predict", str(page_file), str(numbered), "--annotate", str(blank_file)]) == 2
    assert numbered.read_bytes() == before
    linked = blank_file.with_name("linked.png")
    linked.hardlink_to(blank_file)
    assert main(["predict", str(blank_file), "--annotate", str(linked)]) == 2
    assert blank_file.read_bytes() == before


def test_a_file_name_with_a_newline_or_an_escape_is_shown_escaped_on_one_line(tmp_path, capsys):
    name = tmp_path / "evil\n\x1b[31mred.png"
    assert main(["predict", str(name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert err.startswith("digitnet predict: error: ") and "evil\\n\\x1b[31mred.png" in err


def test_min_confidence_writes_question_marks(page_file, capsys):
    assert main(["predict", "--json", "--min-confidence", "1", str(page_file)]) == 0
    record = json.loads(capsys.readouterr().out)
    expected = "".join("?" if d["confidence"] < 1 else str(d["digit"]) for d in record["digits"])
    assert record["text"].replace("\n", "") == expected


@pytest.mark.parametrize("value", ["-0.1", "1.5", "high"])
def test_min_confidence_outside_0_to_1_is_refused_in_one_line(value, page_file, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--min-confidence", value, str(page_file)])
    assert exit_.value.code == 2 and len(capsys.readouterr().err.splitlines()) == 1


def test_predict_keeps_scipy_matplotlib_and_torch_off_its_import_path(page_file):
    import subprocess
    import sys

    code = ("import sys\nfrom digitnet.cli import main\n"
            f"main(['predict', {str(page_file)!r}])\n"
            "print(sorted(m for m in ('scipy', 'matplotlib', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
