"""A page photographed on a desk, or a blackboard on a wall: what lies around it is neither paper nor
ink, and the digits on it read as on the page or board alone; light digits on dark, however fat,
are no page on a desk."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from digitnet.modelfile import load_model
from digitnet.reading import read_digits
from digitnet.reading.ink import measure_ink
from digitnet.reading.load import grey_array
from digitnet.reading.surround import find_surround
from digitnet.reading.synthetic import mnist_glyph

DESK = (120, 85, 50)


def written_page(mnist, text: str) -> Image.Image:
    """``text`` written in MNIST test digits 60 px tall, dark on a light page."""
    glyphs = [mnist_glyph(mnist.test_images[np.flatnonzero(mnist.test_labels == int(d))[0]], 60) for d in text]
    width = sum(g.shape[1] for g in glyphs) + 20 * (len(glyphs) - 1) + 120
    ink = np.zeros((180, width), np.float32)
    x = 60
    for glyph in glyphs:
        ink[60 : 60 + glyph.shape[0], x : x + glyph.shape[1]] = glyph
        x += glyph.shape[1] + 20
    return Image.fromarray(np.round(245 - 220 * ink).astype(np.uint8), "L").convert("RGB")


def on_desk(page: Image.Image, degrees: float, where: tuple[float, float], scale: float = 1.8,
            desk: tuple[int, int, int] = DESK) -> tuple[Image.Image, np.ndarray]:
    """``page`` tilted by ``degrees`` on a grainy ``desk`` ``scale`` times its size, its top-left
    corner at ``where`` (fractions of the photo): the photo, and where the page lies (h, w) bool."""
    size = (int(page.width * scale), int(page.height * scale))
    rng = np.random.default_rng(0)
    grain = np.clip(np.array(desk, np.float32) + rng.normal(0, 6, (size[1], size[0], 3)), 0, 255)
    photo = Image.fromarray(grain.astype(np.uint8), "RGB")
    tilted = page.rotate(degrees, Image.BICUBIC, expand=True)
    footprint = Image.new("L", page.size, 255).rotate(degrees, expand=True)
    corner = (int(where[0] * size[0]), int(where[1] * size[1]))
    photo.paste(tilted, corner, footprint)
    lies = Image.new("L", size, 0)
    lies.paste(footprint, corner, footprint)
    return photo, np.asarray(lies) > 127


@pytest.mark.parametrize("degrees", [0.0, -6.0])
def test_the_desk_around_a_page_is_found_and_holds_no_ink(mnist, degrees):
    photo, page = on_desk(written_page(mnist, "3807"), degrees, (0.2, 0.25))
    grey = grey_array(photo.convert("L"))
    found = find_surround(grey)
    assert found is not None
    surround, paper_is_light = found
    assert paper_is_light
    assert surround[~page].mean() >= 0.97
    assert surround[page].mean() <= 0.01
    ink_model = measure_ink(grey)
    assert ink_model.dark_ink
    assert not ink_model.mask(ink_model.ink(grey))[~page].any()


@pytest.fixture(scope="module")
def reader():
    return load_model()


@pytest.mark.parametrize(("degrees", "where", "scale"), [(0.0, (0.2, 0.25), 1.8), (5.0, (0.3, 0.2), 1.8),
                                                         (-3.0, (0.2, 0.0), 1.3)])
def test_digits_on_a_page_on_a_desk_read_as_on_the_page_alone(mnist, reader, degrees, where, scale):
    page = written_page(mnist, "49072")
    photo, _ = on_desk(page, degrees, where, scale)
    assert read_digits(page, reader).text == "49072"
    assert read_digits(photo, reader).text == "49072"


@pytest.mark.parametrize("degrees", [0.0, 4.0])
def test_a_blackboard_on_a_light_wall_reads_as_the_board_alone(mnist, reader, degrees):
    board = ImageOps.invert(written_page(mnist, "49072"))
    photo, lies = on_desk(board, degrees, (0.2, 0.25), desk=(225, 220, 205))
    found = find_surround(grey_array(photo.convert("L")))
    assert found is not None and not found[1]
    assert found[0][~lies].mean() >= 0.97
    assert read_digits(board, reader).text == "49072"
    assert read_digits(photo, reader).text == "49072"


def fat_zero(side: int) -> Image.Image:
    """A "0" light on dark with strokes a sixth of the image wide."""
    image = Image.new("L", (side, side), 0)
    s = side / 144
    ImageDraw.Draw(image).ellipse((30 * s, 14 * s, 114 * s, 130 * s), outline=255, width=round(24 * s))
    return image


@pytest.mark.parametrize("side", [72, 144, 400])
def test_fat_light_digits_on_dark_are_no_page_on_a_desk(mnist, side):
    assert find_surround(grey_array(fat_zero(side))) is None
    eight = Image.fromarray(mnist.test_images[np.flatnonzero(mnist.test_labels == 8)[0]]).resize((side, side))
    assert find_surround(grey_array(eight)) is None
    assert not measure_ink(grey_array(fat_zero(side))).dark_ink


@pytest.mark.parametrize("side", [100, 300])
def test_no_mnist_digit_light_on_dark_or_dark_on_light_is_a_page_in_a_surround(mnist, side):
    for image in mnist.test_images[:100]:
        for digit in (image, 255 - image):
            grey = grey_array(Image.fromarray(digit).resize((side, side), Image.BICUBIC))
            assert find_surround(grey) is None


@pytest.mark.parametrize("side", [144, 288, 600])
def test_a_straight_fat_light_1_on_dark_is_no_page_on_a_desk(reader, side):
    one = Image.new("L", (side, side), 0)  # a bar a sixth of the image wide: four straight sides
    s = side / 144
    ImageDraw.Draw(one).rectangle((60 * s, 20 * s, 84 * s, 124 * s), fill=255)
    assert find_surround(grey_array(one)) is None
    assert read_digits(one, reader).text == "1"


def test_a_shadow_across_a_page_is_no_desk():
    xs = np.linspace(0.3, 1.0, 600, dtype=np.float32)
    assert find_surround(np.tile(xs, (400, 1)) * 0.98) is None  # a soft shadow
    grey = np.tile(np.where(np.arange(600) < 200, 0.35, 0.95).astype(np.float32), (400, 1))
    for x in range(300, 420, 30):
        grey[150:250, x : x + 6] = 0.05  # writing on the lit paper
    assert find_surround(grey) is not None  # a hard shadow is a desk to the eye...
    for x in range(40, 160, 30):
        grey[150:250, x : x + 6] = 0.05  # ...until there is writing in it too
    assert find_surround(grey) is None


def test_a_1_along_the_edge_of_a_photo_cropped_to_its_digits_is_no_desk(mnist, reader):
    seven = mnist_glyph(mnist.test_images[np.flatnonzero(mnist.test_labels == 7)[0]], 80)
    ys, xs = np.nonzero(seven > 0.3)
    seven = seven[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    ink = np.zeros((seven.shape[0], 30 + seven.shape[1]), np.float32)
    ink[:, :10] = 1.0  # a straight 1, as tall as the 7, along the left edge
    ink[:, 30:] = seven
    crop = Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8), "L")
    assert find_surround(grey_array(crop)) is None
    assert read_digits(crop, reader).text == "17"
