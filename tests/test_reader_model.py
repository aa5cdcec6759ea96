"""The shipped reader model: the default, 11 outputs, deslanted input, two networks reading together,
rejects what is not one digit, reads single MNIST test digits at any size; and how it is made
(digitnet.reader_model)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet.data import Split
from digitnet.modelfile import DEFAULT_MODEL, load_model, resolve_model_path, shipped_model_path
from digitnet.reader_model import ReaderRecipe, digit_scores, make_reader_model, mnist_as_reader_input
from digitnet.reading import read_digits
from digitnet.reading import reader_data as rd
from digitnet.training import TrainingConfig


@pytest.fixture(scope="module")
def reader():
    return load_model("reader")


def test_the_default_model_is_the_reader():
    assert DEFAULT_MODEL == "reader"
    assert resolve_model_path(None) == shipped_model_path("reader")
    assert load_model().metadata["recipe"]["name"] == "reader"


def test_the_reader_says_not_a_digit_and_deslants(reader):
    assert reader.classes[-1] == "not a digit" and len(reader.classes) == 11
    assert reader.deslants_input


def test_the_reader_is_a_dense_and_a_convolutional_network_reading_together(reader, mnist):
    member, = reader.members
    assert not reader.network.convolutions and member.network.convolutions
    x = mnist_as_reader_input(mnist.test_images[:500], True)
    labels = mnist.test_labels[:500]
    # The pair reads held-aside digits at least as well as either network alone.
    scores = [(p[:, :10].argmax(axis=1) == labels).mean()
              for p in (reader.predict_proba(x), reader.network_proba(x), member.network_proba(x))]
    assert scores[0] >= max(scores[1:])


def test_the_reader_reads_mnist_test_digits_prepared_as_crops(reader, mnist):
    test = mnist_as_reader_input(mnist.test_images, reader.deslants_input, workers=2)
    scores = digit_scores(reader, Split(test, mnist.test_labels.astype(np.int64)))
    assert scores["test_accuracy"] >= 0.985 and scores["test_not_a_digit"] <= 0.01


def reader_answers(reader, crops) -> np.ndarray:
    return reader.predict_proba(rd.normalised(crops, reader.deslants_input)).argmax(axis=1)


def test_two_touching_mnist_test_digits_are_mostly_not_a_digit(reader, mnist):
    digits = mnist.test_images[:2000].astype(np.float32) / 255
    pairs = rd.touching_pairs(digits, np.random.default_rng(11), 400)
    assert (reader_answers(reader, pairs) == rd.NOT_A_DIGIT).mean() >= 0.8


def test_half_mnist_test_digits_that_are_no_digit_themselves_are_mostly_not_a_digit(reader, mnist):
    # As in the reader's training data, halves that the 10-digit model reads surely as a digit (the
    # bottom of an 8 is an 0, either side of a 1 a 1) are left out: a person reads those as digits too.
    digits = mnist.test_images[:2000].astype(np.float32) / 255
    halves = rd.halves(digits, mnist.test_labels[:2000], np.random.default_rng(12), 400)
    crops = rd.normalised(halves, reader.deslants_input)
    digit_like = load_model("best").predict_proba(crops)[:, :10].max(axis=1) >= rd.DIGIT_LIKE
    answers = reader.predict_proba(crops).argmax(axis=1)
    assert (~digit_like).sum() >= 100 and (answers[~digit_like] == rd.NOT_A_DIGIT).mean() >= 0.6


@pytest.mark.parametrize("side", [100, 200, 400])
def test_single_mnist_test_digits_drawn_dark_on_white_read_right_at_any_size(reader, mnist, side):
    right = 0
    for image, label in zip(mnist.test_images[:100], mnist.test_labels[:100]):
        page = Image.fromarray(255 - image).resize((side, side), Image.BICUBIC)
        right += read_digits(page, reader).text == str(label)
    assert right >= 97


@pytest.mark.parametrize("side", [72, 144, 288])
def test_a_thick_solid_one_and_a_thick_closed_four_read_right(reader, side):
    one = Image.new("L", (side, side), 255)
    four = Image.new("L", (side, side), 255)
    s = side / 144
    ImageDraw.Draw(one).rectangle((60 * s, 20 * s, 84 * s, 124 * s), fill=0)  # a sixth of the image wide
    for line in ((90, 18, 30, 90), (30, 90, 115, 90), (90, 18, 90, 128)):
        ImageDraw.Draw(four).line(tuple(v * s for v in line), fill=0, width=round(18 * s))
    assert read_digits(one, reader).text == "1" and read_digits(four, reader).text == "4"


def test_making_a_reader_model_writes_a_complete_file(mnist, tmp_path):
    convolutional = TrainingConfig(layer_sizes=(784, 16, 11), convolutions=(2, 4), trainer="reference", epochs=1)
    recipe = ReaderRecipe(config=TrainingConfig(layer_sizes=(784, 16, 11), epochs=1, keep_best=True),
                          member_configs=(convolutional,), mix=rd.ReaderDataMix(pages=0.04), validation_digits=5000)
    make_reader_model(mnist, tmp_path / "r.npz", recipe, workers=1, limit=300)
    model = load_model(tmp_path / "r.npz")
    assert model.classes[-1] == "not a digit" and model.deslants_input
    # Both networks, each with its own training record and calibration, read together.
    member, = model.members
    assert member.network.channels == (2, 4) and member.deslants_input and len(member.metadata["history"]) == 1
    assert member.metadata["calibration"]["temperature"] > 0
    m = model.metadata
    assert m["recipe"]["members"][0]["convolutions"] == [2, 4]
    assert m["training_seconds"] >= member.metadata["training_seconds"]
    # Every digit, its restyled copies, and the digits of pages the reader cut (page_crops) besides.
    assert m["recipe"]["name"] == "reader" and m["data"]["train_digits"] > 300 + int(recipe.mix.styled * 300)
    assert len(m["history"]) == 1 and 0 <= m["metrics"]["test_accuracy"] <= 1
    assert m["calibration"]["temperature"] > 0
