"""Recognition-guided segmentation: the graph's best path on constructed rows, 'not a digit' outputs,
determinism, one text on every reading path, and the bounds that keep any page fast."""

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.errors import ImageError
from digitnet.modelfile import Model, load_model
from digitnet.nn.network import Network
from digitnet.reading import normalise, read, read_digits, segment
from digitnet.reading.lattice import MAX_PARTS, MAX_WIDTH, SKIP_SCORE, Candidate, best_path, candidates, paper_between
from digitnet.reading.segment import LOOSE_INK, Blob, find_rows
from digitnet.reading.synthetic import mnist_glyph


@pytest.fixture(scope="module")
def model():
    return load_model("best")  # 10 outputs: the tests below add an 11th to it


@pytest.fixture(scope="module")
def reader():
    return load_model()  # the default reader model: two networks, 11 outputs


def first_test_digit(mnist, label: int, height: int, skip: int = 0) -> np.ndarray:
    """The ink of the first MNIST test image of ``label`` (after ``skip`` of them), ``height`` px tall."""
    index = np.flatnonzero(mnist.test_labels == label)[skip]
    return mnist_glyph(mnist.test_images[index], height)


def row_image(glyphs, gaps, rises=None, margin=40) -> Image.Image:
    """Glyphs (h, w) ink in [0, 1] left to right, ``gaps`` px apart (negative: overlapping), each
    raised by ``rises`` px: dark ink on white, as a PIL "L" image."""
    rises = rises or [0] * len(glyphs)
    width = sum(g.shape[1] for g in glyphs) + sum(gaps) + 2 * margin
    height = max(g.shape[0] + abs(r) for g, r in zip(glyphs, rises)) + 2 * margin
    ink = np.zeros((height, width), dtype=np.float32)
    x = margin
    for glyph, gap, rise in zip(glyphs, [*gaps, 0], rises):
        h, w = glyph.shape
        y = margin + max(rises) - rise
        ink[y : y + h, x : x + w] = np.maximum(ink[y : y + h, x : x + w], glyph)
        x += w + gap
    return Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), "L")


def broken_five(height: int = 90) -> Image.Image:
    """A "5" drawn with its top bar lifted off the stem by a gap, as a light pen leaves it."""
    image = Image.new("L", (height * 2, height * 2), 255)
    draw = ImageDraw.Draw(image)
    s, x, y, w = height / 10, height // 2, height // 2, max(3, height // 11)
    draw.line((x + 2.4 * s, y, x + 7 * s, y), fill=0, width=w)                  # the bar, not touching...
    draw.line((x + 1.8 * s, y + 1.3 * s, x + 1.5 * s, y + 4.5 * s), fill=0, width=w)  # ...the stem
    draw.arc((x + 0.8 * s, y + 3.4 * s, x + 7.2 * s, y + 10 * s), 200, 150, fill=0, width=w)
    return image


def test_two_touching_digits_are_cut_apart_and_both_read(model, mnist):
    image = row_image([first_test_digit(mnist, 3, 60), first_test_digit(mnist, 5, 60)], [-4])
    assert read_digits(image, model).text == "35"


def test_a_broken_five_is_read_as_one_five(model):
    reading = read_digits(broken_five(), model)
    assert reading.text == "5"


def test_a_two_and_a_one_close_together_on_a_tilted_line_are_two_digits(model, mnist):
    image = row_image([first_test_digit(mnist, 2, 60), first_test_digit(mnist, 1, 60)], [13], [0, 8])
    assert read_digits(image, model).text == "21"


@pytest.mark.parametrize("label", [2, 3, 7])
def test_a_small_tick_beside_a_digit_is_left_out_not_read_as_a_one(reader, mnist, label):
    margin = 40
    image = row_image([first_test_digit(mnist, label, 60)], [], margin=margin)
    right, bottom = image.width - margin, image.height - margin  # the digit's right edge and foot
    tick = (right + 8, bottom + 2, right + 22, bottom - 14)  # about a third of the digit's height
    ImageDraw.Draw(image).line(tick, fill=0, width=4)
    assert read_digits(image, reader).text == str(label)


def glued_one_and_four(mnist, order: str) -> Image.Image:
    """A "1" and a "4" overlapping by 6 px in ``order`` ("14" or "41"): one blob no wider than a digit."""
    glyphs = {"1": first_test_digit(mnist, 1, 60, skip=2), "4": first_test_digit(mnist, 4, 60)}
    return row_image([glyphs[c] for c in order], [-6])


@pytest.mark.parametrize("order", ["14", "41"])
def test_a_one_glued_to_its_neighbour_is_cut_off_at_the_second_look(reader, mnist, monkeypatch, order):
    image = glued_one_and_four(mnist, order)
    assert read_digits(image, reader).text == order
    monkeypatch.setattr(read, "DOUBT", 0.0)  # no second look: the blob is too narrow for the first cuts
    assert read_digits(image, reader).text != order


def test_no_second_look_takes_the_page_beyond_the_candidate_bound(reader, mnist, monkeypatch):
    image = glued_one_and_four(mnist, "14")
    monkeypatch.setattr(read, "DOUBT", 0.0)
    first_look = read_digits(image, reader).to_dict("page")
    monkeypatch.setattr(read, "DOUBT", 0.8)
    monkeypatch.setattr(read, "MAX_CANDIDATES", read.segmented(image, refusing=True).candidate_count)
    assert read_digits(image, reader).to_dict("page") == first_look


def edge(start, end, width=10):
    return Candidate(start, end, Blob((start * 10, 0, start * 10 + width, 20), (start + 1,)), 0.0)


def test_best_path_takes_two_sure_digits_over_one_unsure_merge():
    edges = [edge(0, 1), edge(1, 2), edge(0, 2, 20)]
    scores = np.log([0.95, 0.9, 0.6])
    assert [(e.start, e.end) for e in best_path(edges, scores, 2)] == [(0, 1), (1, 2)]


def test_best_path_merges_two_broken_pieces_the_network_reads_as_one_sure_digit():
    edges = [edge(0, 1), edge(1, 2), edge(0, 2, 20), edge(2, 3)]
    scores = np.log([0.3, 0.4, 0.99, 0.9])
    assert [(e.start, e.end) for e in best_path(edges, scores, 3)] == [(0, 2), (2, 3)]


def test_best_path_can_skip_a_speck():
    speck = Candidate(1, 2, None, SKIP_SCORE)
    edges = [edge(0, 1), edge(1, 2), speck, edge(0, 2, 20), edge(1, 3, 20), edge(2, 3)]
    scores = np.array([np.log(0.99), np.log(0.01), speck.prior, np.log(0.02), np.log(0.01), np.log(0.99)])
    assert [(e.start, e.end, e.blob is None) for e in best_path(edges, scores, 3)] == [
        (0, 1, False), (1, 2, True), (2, 3, False)]


def test_a_wide_piece_cut_into_parts_can_be_put_back_together_but_two_pieces_that_wide_cannot():
    height = 20
    parts = [Blob((k * 10, 0, k * 10 + 10, height), (k + 1,)) for k in range(5)]  # 50 px: 2.5 digit heights
    assert 4 * 10 > MAX_WIDTH * height
    whole = [(e.start, e.end) for e in candidates(parts, [0] * 5, height) if e.blob is not None]
    two_pieces = [(e.start, e.end) for e in candidates(parts, [0, 0, 1, 1, 1], height) if e.blob is not None]
    assert (0, 5) in whole and (0, 4) not in whole and (1, 5) not in whole
    assert (0, 5) not in two_pieces


def test_paper_inside_a_digit_is_counted_from_the_right_edge_of_all_its_parts_so_far():
    stroke, dot, tail = Blob((0, 0, 40, 20), (1,)), Blob((2, 0, 5, 3), (2,)), Blob((35, 0, 50, 20), (3,))
    assert paper_between([stroke, dot, tail]) == 0  # the tail starts inside the stroke, not 30 px after the dot
    assert paper_between([stroke, Blob((46, 0, 50, 20), (4,))]) == 6


def test_a_digit_broken_into_more_than_ten_parts_is_still_one_candidate():
    height = 40
    parts = [Blob((k * 3, 0, k * 3 + 3, height), (k + 1,)) for k in range(12)]  # 36 px: a finely cut wide digit
    assert len(parts) <= MAX_PARTS
    assert (0, 12) in [(e.start, e.end) for e in candidates(parts, [0] * 12, height) if e.blob is not None]


def test_a_slanted_digit_in_one_wide_piece_is_read_whole_when_the_network_can_refuse_two_digits():
    height = 20
    loop, rest = Blob((0, 2, 14, 20), (1,)), Blob((14, 0, 34, 20), (2,))  # one piece 1.7 digit heights wide
    network_says = {(0, 1): 0.5, (1, 2): 0.99, (0, 2): 0.99}  # a 2's loop alone looks a little like a 6

    def path(refusing: bool) -> list[tuple[int, int]]:
        edges = [e for e in candidates([loop, rest], [0, 0], height, refusing) if e.blob is not None]
        scores = np.array([e.prior + np.log(network_says[(e.start, e.end)]) for e in edges])
        return [(e.start, e.end) for e in best_path(edges, scores, 2)]

    assert path(refusing=True) == [(0, 2)]
    # A network without "not a digit" reads many a pair of touching digits as one: a piece that wide stays doubtful.
    assert path(refusing=False) == [(0, 1), (1, 2)]


def with_not_a_digit_output(model: Model, bias: float) -> Model:
    """``model`` with an 11th output, "not a digit", whose logit is ``bias`` for every input."""
    weights = [w.copy() for w in model.network.weights]
    biases = [b.copy() for b in model.network.biases]
    weights[-1] = np.concatenate([weights[-1], np.zeros((weights[-1].shape[0], 1), weights[-1].dtype)], axis=1)
    biases[-1] = np.concatenate([biases[-1], np.array([bias], biases[-1].dtype)])
    return Model(Network(weights, biases), {**model.metadata, "layer_sizes": [*model.network.layer_sizes[:-1], 11]})


def test_crops_the_network_calls_not_a_digit_are_never_confident_digits(model, mnist):
    image = row_image([first_test_digit(mnist, 3, 60), first_test_digit(mnist, 5, 60)], [20])
    reading = read_digits(image, with_not_a_digit_output(model, bias=40.0))
    assert reading.digits and all(d.confidence < 1e-6 for d in reading.digits)
    assert all(len(d.probabilities) == 11 for d in reading.digits)
    assert read_digits(image, with_not_a_digit_output(model, bias=40.0), min_confidence=0.5).text == "??"
    assert reading.confidence < 1e-6


def test_a_not_a_digit_output_that_never_fires_changes_nothing(model, mnist):
    image = row_image([first_test_digit(mnist, 3, 60), first_test_digit(mnist, 5, 60)], [-4])
    plain, eleven = read_digits(image, model), read_digits(image, with_not_a_digit_output(model, bias=-40.0))
    assert eleven.text == plain.text
    assert [d.confidence for d in eleven.digits] == pytest.approx([d.confidence for d in plain.digits], rel=1e-4)


def test_reading_is_deterministic(model, mnist):
    image = row_image([first_test_digit(mnist, d, 60, skip=2) for d in (4, 0, 9, 2)], [-3, 5, -6])
    first = read_digits(image, model).to_dict("page")
    assert all(read_digits(image, model).to_dict("page") == first for _ in range(3))


def test_cli_library_and_web_api_read_the_same_text(model, mnist, tmp_path, capsys):
    fastapi = pytest.importorskip("fastapi.testclient")
    from digitnet.cli import main
    from digitnet.serve.app import create_app

    image = row_image([first_test_digit(mnist, d, 60, skip=1) for d in (7, 3, 8)], [-5, 12])
    path = tmp_path / "row.png"
    image.save(path)
    library = read_digits(path, model).to_dict(str(path))
    assert main(["predict", "--json", "--model", "best", str(path)]) == 0
    cli = __import__("json").loads(capsys.readouterr().out)
    with fastapi.TestClient(create_app(model), base_url="http://127.0.0.1") as client:
        web = client.post("/api/read", content=path.read_bytes()).json()
    assert cli["text"] == library["text"] == web["text"]
    assert cli["confidence"] == library["confidence"] == web["confidence"]
    assert [d["box"] for d in cli["digits"]] == [d["box"] for d in library["digits"]] == [d["box"] for d in web["digits"]]


def grid_of_dots(count_per_side=60) -> Image.Image:
    image = Image.new("L", (1200, 1200), 255)
    draw = ImageDraw.Draw(image)
    for i in range(count_per_side):
        for j in range(count_per_side):
            draw.ellipse((10 + 20 * i, 10 + 20 * j, 16 + 20 * i, 16 + 20 * j), fill=0)
    return image


def random_specks(count=3000) -> Image.Image:
    rng = np.random.default_rng(0)
    image = Image.new("L", (1200, 1200), 255)
    draw = ImageDraw.Draw(image)
    for x, y, side in zip(rng.integers(0, 1195, count), rng.integers(0, 1195, count), rng.integers(1, 5, count)):
        draw.rectangle((int(x), int(y), int(x + side), int(y + side)), fill=0)
    return image


def short_strokes() -> Image.Image:
    image = Image.new("L", (1200, 1200), 255)
    draw = ImageDraw.Draw(image)
    for i in range(75):
        for j in range(50):
            draw.line((8 + 16 * i, 10 + 24 * j, 8 + 16 * i, 24 + 24 * j), fill=0, width=2)
    return image


@pytest.mark.parametrize("page", [grid_of_dots, random_specks, short_strokes])
def test_a_page_of_thousands_of_marks_is_refused_in_one_line_and_quickly(page, model):
    data = io.BytesIO()
    page().save(data, format="PNG")
    start = time.perf_counter()
    with pytest.raises(ImageError) as caught:
        read_digits(data.getvalue(), model, name="marks.png")
    assert time.perf_counter() - start < 10  # the bound the hostile-input issue asks for; typically < 1 s
    assert str(caught.value).startswith("marks.png: has ") and "\n" not in str(caught.value)


def test_a_solid_black_square_reads_quickly(model):
    image = Image.new("L", (1200, 600), 255)
    ImageDraw.Draw(image).rectangle((500, 200, 560, 260), fill=0)
    start = time.perf_counter()
    read_digits(image, model)
    assert time.perf_counter() - start < 10


def test_a_speck_is_no_piece_but_its_ink_stays_loose():
    mask = np.zeros((60, 60), dtype=bool)
    mask[10:50, 20:24] = True  # a stroke 40 px tall
    mask[30:33, 30:33] = True  # a 3 px speck beside it: under SPECK_FRACTION of a digit
    rows, labels = find_rows(mask)
    pieces = [piece for row in rows for cluster in row.clusters for piece in cluster]
    assert len(pieces) == 1
    assert (labels[30:33, 30:33] == LOOSE_INK).all()
    assert (labels[10:50, 20:24] == pieces[0].labels[0]).all()


def test_specks_in_a_line_make_one_dotted_piece_but_scattered_specks_stay_loose():
    mask = np.zeros((80, 120), dtype=bool)
    mask[10:50, 20:24] = True  # a stroke 40 px tall
    for y in range(10, 50, 5):
        mask[y : y + 3, 60:63] = True  # a stroke of 3 px dots, 2 px apart
    for y, x in [(10, 90), (40, 110), (70, 95)]:
        mask[y : y + 3, x : x + 3] = True  # specks far apart
    rows, labels = find_rows(mask)
    pieces = [piece for row in rows for cluster in row.clusters for piece in cluster]
    assert sorted(p.box for p in pieces) == [(20, 10, 24, 50), (60, 10, 63, 48)]
    dotted = next(p for p in pieces if p.box[0] == 60)
    assert (labels[:, 60:63][mask[:, 60:63]] == dotted.labels[0]).all()
    assert (labels[:, 80:][mask[:, 80:]] == LOOSE_INK).all()


def test_ruled_lines_are_taken_out_but_a_stroke_crossing_them_stays_whole():
    mask = np.zeros((100, 200), dtype=bool)
    mask[30:33], mask[70:73] = True, True  # two ruled lines of 3 px across the page
    mask[10:90, 90:96] = True             # a stroke crossing both
    mask[60:70, 150:160] = True           # a mark resting on the lower line
    rows, labels = find_rows(mask)
    pieces = sorted(piece.box for row in rows for cluster in row.clusters for piece in cluster)
    assert pieces == [(90, 10, 96, 90), (150, 60, 160, 73)]
    assert not labels[30:33, :90].any() and not labels[70:73, 100:150].any()


@pytest.mark.parametrize("label", [0, 2, 7])
def test_a_digit_drawn_in_dots_is_read(reader, mnist, monkeypatch, label):
    glyph = first_test_digit(mnist, label, 60)
    ys, xs = np.mgrid[: glyph.shape[0], : glyph.shape[1]]
    dotted = glyph * ((ys % 5 < 3) & (xs % 5 < 3))  # 3 px dots: each a speck, under a sixth of the digit
    image = row_image([first_test_digit(mnist, 3, 60), dotted], [20])
    assert read_digits(image, reader).text == f"3{label}"
    monkeypatch.setattr(segment, "DOTTED_SIDE", np.inf)  # dots never joined: the digit is specks
    assert read_digits(image, reader).text == "3"


@pytest.mark.parametrize("dot, step", [(2, 8), (3, 9)])
def test_a_dotted_line_to_write_on_is_no_stroke(reader, mnist, dot, step):
    image = row_image([first_test_digit(mnist, d, 60) for d in (4, 9, 0, 7, 2)], [20, 20, 20, 20])
    draw = ImageDraw.Draw(image)
    for x in range(10, image.width - 10, step):  # dots 4 px under the digits, across the page
        draw.rectangle([x, 104, x + dot - 1, 104 + dot - 1], fill=60)
    assert read_digits(image, reader).text == "49072"


def test_an_unsure_digit_is_read_as_the_mean_over_its_crop_shifted_one_pixel_each_way(reader, mnist, monkeypatch):
    image = row_image([first_test_digit(mnist, d, 60, skip=2) for d in (4, 0, 9, 2)], [20, 20, 20])
    monkeypatch.setattr(read, "SURE", 0.0)
    single = read_digits(image, reader)
    monkeypatch.setattr(read, "SURE", 1.01)  # every digit unsure
    again = read_digits(image, reader)
    for one, mean in zip(single.digits, again.digits):
        views = normalise.shifted_views(one.network_input)
        expected = reader.predict_proba(views.reshape(5, -1)).mean(axis=0)
        assert mean.probabilities == pytest.approx(expected, abs=1e-6)
        assert mean.digit == int(expected[:10].argmax()) and mean.confidence == pytest.approx(expected[mean.digit])
        assert not np.allclose(mean.probabilities, one.probabilities, atol=1e-9)
