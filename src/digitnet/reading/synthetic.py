"""Realistic pages with known digits, for tests, examples and the held-aside reading evaluation.

A page is MNIST *test* digits or handwriting-font digits (for the evaluation; pages of MNIST
*training* digits under ``MNIST_CONDITIONS`` give the reader model training candidates,
``reading.page_crops``), composed on paper with an ink colour and
one real-world condition (blue ballpoint on cream paper, chalkboard, shadows, noise and JPEG, ruled
lines, thin pen, fat marker, broken strokes, specks, touching digits, slanted writing, a tilted line,
squared paper, a notebook's page, a form's boxes, a page lying on a desk, a board on a wall, ...). The ``style_*`` conditions mix MNIST test digits with drawn strokes of styles MNIST has few of
(an 8 with a small or open top loop, a curled 1, a crossed 7, a 1 with flag and base, an open 4, a
9 with a straight stem). ``make_page`` returns the image, the text that is written on it and each
digit's true box (input pixels, x1/y1 exclusive).
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_FILES = (
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf",
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
)
STYLES = {"open_eight": 8, "curled_one": 1, "crossed_seven": 7, "flag_base_one": 1, "open_four": 4,
          "straight_nine": 9}
CONDITIONS = (
    "clean", "rows", "chalkboard", "blue_on_cream", "pencil_low_contrast", "shadow", "noise_blur_jpeg",
    "tilt", "ruled", "thin_pen", "fat_marker", "broken", "specks", "fonts", "small", "transparent", "touching",
    "touching_pair", "touching_string", "slanted", "tilted_line", *(f"style_{name}" for name in STYLES),
    "squared_paper", "notebook", "form_boxes", "on_desk", "board_on_wall", "page_filling_photo",
    "form_comb", "form_boxes_cut",
)
MNIST_CONDITIONS = tuple(c for c in CONDITIONS if c != "fonts" and not c.startswith("style_"))  # all MNIST digits
SPACING = {"touching": (-0.12, -0.03), "touching_pair": (-0.15, -0.03), "touching_string": (-0.2, -0.02),
           "tilted_line": (0.05, 0.15)}  # gaps between digits, in digit heights (negative: overlap)
MAX_OVERLAP = 0.35  # neighbours overlap by at most this share of the narrower one's width


@dataclass
class Page:
    """A synthetic page: its image, the text written on it (rows joined by newlines), each written
    digit's ink box (x0, y0, x1, y1) in reading order, its condition, and which MNIST image each
    digit was drawn from (an index into the images ``make_page`` was given; -1 for a font or drawn
    digit)."""

    image: Image.Image
    text: str
    boxes: list[tuple[int, int, int, int]]
    condition: str
    sources: list[int] = field(default_factory=list)


def available_fonts() -> list[str]:
    return [f for f in FONT_FILES if Path(f).exists()]


def mnist_glyph(image: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 scaled to ``height`` px, cropped to its ink: (h, w) float32 in [0, 1]."""
    rows, cols = np.nonzero(image > 40)
    crop = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = height / crop.shape[0]
    size = (max(2, round(crop.shape[1] * scale)), height)
    return np.asarray(Image.fromarray(crop).resize(size, Image.BICUBIC), dtype=np.float32).clip(0, 255) / 255


def font_glyph(digit: int, height: int, font_file: str) -> np.ndarray:
    """A digit rendered in a handwriting font, ``height`` px tall: (h, w) float32 in [0, 1]."""
    font = ImageFont.truetype(font_file, size=round(height * 1.5))
    canvas = Image.new("L", (height * 2, height * 3), 0)
    ImageDraw.Draw(canvas).text((height // 2, height // 2), str(digit), fill=255, font=font)
    box = canvas.getbbox()
    glyph = canvas.crop(box)
    scale = height / glyph.height
    glyph = glyph.resize((max(2, round(glyph.width * scale)), height), Image.BICUBIC)
    return np.asarray(glyph, dtype=np.float32) / 255


def slanted_glyph(glyph: np.ndarray, degrees: float) -> np.ndarray:
    """A glyph (h, w) in [0, 1] sheared so that its verticals lean ``degrees`` to the right: (h, w')."""
    h, w = glyph.shape
    shear = np.tan(np.radians(degrees))
    width = w + int(np.ceil(abs(shear) * h))
    offset = shear * h if shear > 0 else 0.0  # x_in = x_out + shear * y - offset
    image = Image.fromarray(glyph, "F").transform((width, h), Image.AFFINE, (1, shear, -offset, 0, 1, 0),
                                                  Image.BILINEAR)
    return np.clip(np.asarray(image, dtype=np.float32), 0, 1)


def style_glyph(style: str, height: int, rng: np.random.Generator) -> np.ndarray:
    """A digit drawn in a style MNIST has few of (a key of ``STYLES``), ``height`` px tall, with a
    random stroke width and wobble: (h, w) float32 in [0, 1]."""
    scale = 4  # drawn 4x larger, then shrunk: anti-aliased strokes
    side = height * scale
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(side * rng.uniform(0.08, 0.13)))

    def point(x: float, y: float) -> tuple[float, float]:
        """A point of the unit box (x right, y down, both 0..1), wobbled a little, in canvas pixels."""
        return ((0.2 + 0.6 * x + rng.normal(0, 0.015)) * side, (0.05 + 0.9 * y + rng.normal(0, 0.015)) * side)

    def stroke(*points):
        draw.line([point(x, y) for x, y in points], fill=255, width=width, joint="curve")

    def loop(x0, y0, x1, y1, start=0, end=360):
        (a, b), (c, d) = point(x0, y0), point(x1, y1)
        draw.arc((min(a, c), min(b, d), max(a, c), max(b, d)), start, end, fill=255, width=width)

    if style == "open_eight":
        top = rng.uniform(0.35, 0.48)  # the top loop's height: smaller than the bottom one's
        opening = rng.uniform(30, 90) if rng.random() < 0.5 else 0  # degrees left open at its top
        loop(0.5 - 0.6 * top, 0.0, 0.5 + 0.6 * top, top, -90 + opening / 2, 270 - opening / 2)
        loop(0.05, top - 0.03, 0.95, 1.0)
    elif style == "curled_one":
        stroke((0.3, 0.15), (0.55, 0.0), (0.55, 0.85))
        loop(0.55, 0.7, 0.85, 1.0, 90, 200)
    elif style == "crossed_seven":
        stroke((0.05, 0.05), (0.95, 0.05), (0.4, 1.0))
        stroke((0.35, 0.5), (0.9, 0.5))
    elif style == "flag_base_one":
        stroke((0.2, 0.25), (0.55, 0.0), (0.55, 1.0))
        stroke((0.2, 1.0), (0.9, 1.0))
    elif style == "open_four":
        stroke((0.35, 0.0), (0.05, 0.65), (0.95, 0.65))
        stroke((0.7, 0.25), (0.7, 1.0))
    elif style == "straight_nine":
        loop(0.1, 0.0, 0.85, 0.5)
        stroke((0.85, 0.25), (0.85, 1.0))
    else:
        raise ValueError(f"no style {style!r}; styles: {', '.join(STYLES)}")
    glyph = canvas.crop(canvas.getbbox())
    glyph = glyph.resize((max(2, round(glyph.width / glyph.height * height)), height), Image.LANCZOS)
    return np.clip(np.asarray(glyph, dtype=np.float32) / 255, 0, 1)


def restroke(glyph: np.ndarray, size: int, thinner: bool) -> np.ndarray:
    """Thin (pen) or thicken (marker) a glyph's strokes by a square min/max filter of ``size``."""
    image = Image.fromarray((glyph * 255).astype(np.uint8), "L")
    flt = ImageFilter.MinFilter(size) if thinner else ImageFilter.MaxFilter(size)
    return np.asarray(image.filter(flt), dtype=np.float32) / 255


def make_page(condition: str, rng: np.random.Generator, mnist_images: np.ndarray, mnist_labels: np.ndarray,
              digits: int = 4, height: int = 48) -> Page:
    """One page of ``condition`` with ``digits`` digits (two rows for "rows") about ``height`` px tall."""
    if condition == "small":
        height = 16
    elif condition in ("thin_pen", "fat_marker"):
        height = max(height, 96)
    rows = 2 if condition == "rows" else 1
    if condition == "touching_pair":
        digits = 2
    elif condition == "touching_string":
        digits = int(rng.integers(3, 9))
    style = condition.removeprefix("style_") if condition.startswith("style_") else None
    styled = set(rng.choice(digits, size=int(rng.integers(1, digits + 1)), replace=False)) if style else set()
    glyphs, text, sources = [], [], []
    for number in range(rows * digits):
        size = int(height * rng.uniform(0.85, 1.15))
        source = -1
        if condition == "fonts":
            label = int(rng.integers(10))
            glyph = font_glyph(label, size, available_fonts()[int(rng.integers(len(available_fonts())))])
        elif number in styled:
            label, glyph = STYLES[style], style_glyph(style, size, rng)
        else:
            source = int(rng.integers(len(mnist_images)))
            label, glyph = int(mnist_labels[source]), mnist_glyph(mnist_images[source], size)
        if condition == "thin_pen":
            glyph = (glyph > 0.5).astype(np.float32)
            glyph = restroke(glyph, max(3, size // 20) | 1, thinner=True)
        elif condition == "fat_marker":
            glyph = restroke(glyph, max(3, size // 12) | 1, thinner=False)
        elif condition == "broken":
            glyph = glyph * (_stripes(glyph.shape, rng, max(2, size // 12)))
        elif condition == "slanted":
            glyph = slanted_glyph(glyph, float(rng.uniform(12, 25)) * (1 if rng.random() < 0.8 else -1))
        glyphs.append(glyph)
        text.append(str(label))
        sources.append(source)
    margin = height
    spacing = SPACING.get(condition, (0.25, 0.6))
    gaps = [int(height * rng.uniform(*spacing)) for _ in glyphs]  # after each glyph
    # Touching digits overlap by at most a share of the narrower one: a 1 hidden inside its neighbour
    # is not a touching pair anyone could read.
    for k in range(len(glyphs) - 1):
        gaps[k] = max(gaps[k], -int(MAX_OVERLAP * min(glyphs[k].shape[1], glyphs[k + 1].shape[1])))
    rise = np.tan(np.radians(rng.uniform(3, 8) * rng.choice([-1, 1]))) if condition == "tilted_line" else 0.0
    row_widths = [sum(g.shape[1] + max(gap, 0) for g, gap in zip(glyphs[r * digits : (r + 1) * digits],
                                                                  gaps[r * digits : (r + 1) * digits]))
                  for r in range(rows)]
    width = max(row_widths) + 2 * margin
    page_height = int(rows * height * 1.9 + 2 * margin + abs(rise) * width)
    ink = np.zeros((page_height, width), dtype=np.float32)
    boxes = []
    for r in range(rows):
        x = margin + int(rng.integers(0, height // 2 + 1))
        base = margin + int(r * height * 1.9) + (int(-rise * width) if rise < 0 else 0)
        for glyph, gap in zip(glyphs[r * digits : (r + 1) * digits], gaps[r * digits : (r + 1) * digits]):
            y = base + int(rise * x) + int(rng.integers(0, height // 5 + 1))
            h, w = glyph.shape
            ink[y : y + h, x : x + w] = np.maximum(ink[y : y + h, x : x + w], glyph)
            ys, xs = np.nonzero(glyph > 0.25)
            boxes.append((x + int(xs.min()), y + int(ys.min()), x + int(xs.max()) + 1, y + int(ys.max()) + 1))
            x += w + gap
    if condition in ("form_boxes", "form_boxes_cut"):
        _draw_form_boxes(ink, boxes, height, rng)
    elif condition == "form_comb":
        _draw_form_comb(ink, boxes, height, rng)
    image = _render(ink, condition, rng, height)
    if condition == "form_boxes_cut":
        image, boxes = _cut_through_a_box(image, boxes, height, rng)
    if condition in SURROUNDS:
        image, boxes = _photographed_on(image, boxes, SURROUNDS[condition], rng)
    elif condition == "page_filling_photo":
        image, boxes = _filling_the_photo(image, boxes, SURROUNDS["on_desk"], rng)
    return Page(image, "\n".join("".join(text[r * digits : (r + 1) * digits]) for r in range(rows)), boxes, condition,
                sources)


def _walls_between(boxes: list, height: int) -> list[int]:
    """The columns of the walls of a row of boxes around digits whose ink lies in ``boxes`` (x0, y0,
    x1, y1), ``height`` px tall: one midway between each two digits, one a fifth of a digit beyond
    each end."""
    return [boxes[0][0] - height // 5, *((a[2] + b[0]) // 2 for a, b in zip(boxes, boxes[1:])), boxes[-1][2] + height // 5]


def _draw_form_boxes(ink: np.ndarray, boxes: list, height: int, rng: np.random.Generator) -> None:
    """Draw into ``ink`` (h, w) the boxes of a form around the digits whose ink lies in ``boxes``
    (x0, y0, x1, y1): a row of boxes sharing their walls, or one box for each digit."""
    top = min(b[1] for b in boxes) - int(height * rng.uniform(0.1, 0.3))
    bottom = max(b[3] for b in boxes) + int(height * rng.uniform(0.1, 0.3))
    pen = int(rng.integers(1, 3))
    if rng.random() < 0.5:
        walls = _walls_between(boxes, height)
        frames = [(walls[0], walls[-1])]
    else:
        walls = [x for b in boxes for x in (b[0] - height // 8, b[2] + height // 8)]
        frames = list(zip(walls[::2], walls[1::2]))
    for left, right in frames:
        ink[top : top + pen, left : right + pen] = 1
        ink[bottom : bottom + pen, left : right + pen] = 1
    for x in walls:
        ink[top : bottom + pen, x : x + pen] = 1


def _cut_through_a_box(page: Image.Image, boxes: list, height: int, rng: np.random.Generator) -> tuple[Image.Image, list]:
    """The ``page`` cut by the photo's left side through the first digit's form box (between its
    wall and its digit), or by the right side through the last; and the digits' ``boxes`` in it."""
    if rng.random() < 0.5:
        left = boxes[0][0] - int(height * 0.05)
        return page.crop((left, 0, *page.size)), [(x0 - left, y0, x1 - left, y1) for x0, y0, x1, y1 in boxes]
    return page.crop((0, 0, boxes[-1][2] + int(height * 0.05), page.height)), boxes


def _draw_form_comb(ink: np.ndarray, boxes: list, height: int, rng: np.random.Generator) -> None:
    """Draw into ``ink`` (h, w) a form's comb under the digits whose ink lies in ``boxes`` (x0, y0,
    x1, y1): a baseline they stand on or just above, with a short tooth rising between each two
    digits and at both ends."""
    base = max(b[3] for b in boxes) + int(height * rng.uniform(-0.05, 0.15))
    tooth = int(height * rng.uniform(0.25, 0.5))
    pen = int(rng.integers(1, 3))
    walls = _walls_between(boxes, height)
    ink[base : base + pen, walls[0] : walls[-1] + pen] = 1
    for x in walls:
        ink[base - tooth : base, x : x + pen] = 1


def _stripes(shape, rng, gap_width: int) -> np.ndarray:
    """A mask of 1s with two thin bands of 0s across it: a pen that skips."""
    mask = np.ones(shape, dtype=np.float32)
    for _ in range(2):
        y = int(rng.integers(shape[0] // 5, 4 * shape[0] // 5))
        mask[y : y + gap_width] = 0
    return mask


PAPER = {"cream": (245, 238, 215), "white": (250, 250, 248), "board": (40, 55, 45)}
INKS = {"black": (25, 25, 30), "blue": (25, 45, 150), "pencil": (150, 150, 150), "chalk": (235, 235, 230)}
TILT_DEGREES = {"tilt": 6, "form_boxes": 3, "form_comb": 3, "form_boxes_cut": 3}  # photographed tilted by up to this much either way


def _render(ink: np.ndarray, condition: str, rng: np.random.Generator, height: int) -> Image.Image:
    """Put ``ink`` (h, w) in [0, 1] on paper under ``condition``; returns the page image."""
    if condition in LINED_PAPERS:
        return _on_lined_paper(ink, condition, rng, height)
    h, w = ink.shape
    paper, colour = PAPER["white"], INKS["black"]
    if condition in ("chalkboard", "board_on_wall"):
        paper, colour = PAPER["board"], INKS["chalk"]
    elif condition == "blue_on_cream":
        paper, colour = PAPER["cream"], INKS["blue"]
    elif condition == "pencil_low_contrast":
        paper, colour = (225, 222, 215), INKS["pencil"]
    page = np.empty((h, w, 3), dtype=np.float32)
    page[:] = paper
    if condition == "ruled":
        for y in range(int(height * 0.9), h, int(height * 0.9)):
            page[y : y + 2] = (170, 200, 235)
    if condition == "specks":
        for _ in range(12):
            y, x = int(rng.integers(h - 3)), int(rng.integers(w - 3))
            r = int(rng.integers(1, 3))
            page[y : y + r, x : x + r] = colour
    alpha = ink[..., None]
    page = page * (1 - alpha) + np.array(colour, dtype=np.float32) * alpha
    if condition == "shadow":
        ys, xs = np.mgrid[0:h, 0:w]
        page *= (0.45 + 0.55 * (xs / w) * (0.6 + 0.4 * ys / h))[..., None]
    if condition == "noise_blur_jpeg":
        page += rng.normal(0, 12, page.shape)
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), "RGB")
    if condition == "noise_blur_jpeg":
        image = image.filter(ImageFilter.GaussianBlur(1.2))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=35)
        image = Image.open(io.BytesIO(buffer.getvalue()))
        image.load()
    if condition in TILT_DEGREES:
        degrees = TILT_DEGREES[condition]
        image = image.rotate(float(rng.uniform(-degrees, degrees)), resample=Image.BICUBIC, fillcolor=paper)
    if condition == "transparent":
        rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
        rgba.putalpha(Image.fromarray((ink * 255).astype(np.uint8), "L"))
        return rgba
    return image


LINED_PAPERS = ("squared_paper", "notebook")


def _on_lined_paper(ink: np.ndarray, condition: str, rng: np.random.Generator, height: int) -> Image.Image:
    """``ink`` (h, w) written on squared paper or on a notebook's page (dark rulings, a red margin),
    lines dark enough to be taken for ink, photographed tilted by up to 6 degrees: the paper is
    drawn wider than the photo, so that its lines run to the photo's edges."""
    h, w = ink.shape
    pad = int(0.12 * max(h, w))
    page = np.empty((h + 2 * pad, w + 2 * pad, 3), dtype=np.float32)
    page[:] = PAPER["white"]
    if condition == "squared_paper":
        pitch = int(height * 0.6)
        for y in range(int(rng.integers(pitch)), page.shape[0], pitch):
            page[y : y + 2] = (110, 120, 140)
        for x in range(int(rng.integers(pitch)), page.shape[1], pitch):
            page[:, x : x + 2] = (110, 120, 140)
    else:
        for y in range(int(rng.integers(height)), page.shape[0], int(height * 1.2)):
            page[y : y + 2] = (60, 80, 160)
        x = pad + int(rng.integers(height // 4, height // 2))
        page[:, x : x + 2] = (200, 50, 60)
    alpha = np.pad(ink, pad)[..., None]
    page = page * (1 - alpha) + np.array(INKS["black"], dtype=np.float32) * alpha
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), "RGB")
    image = image.rotate(float(rng.uniform(-6, 6)), resample=Image.BICUBIC)
    return image.crop((pad, pad, pad + w, pad + h))


SURROUNDS = {"on_desk": ((40, 35, 30), (150, 105, 60), (110, 112, 118)),  # dark, wooden, grey desks
             "board_on_wall": ((225, 220, 205), (200, 205, 210))}  # cream and light grey walls


def _photographed_on(page: Image.Image, boxes: list, surfaces: tuple, rng: np.random.Generator) -> tuple[Image.Image, list]:
    """The ``page`` photographed on one of ``surfaces`` (RGB): tilted by up to 8 degrees, filling
    40-80% of the photo each way, the surface around it grainy and lit unevenly; and the digits'
    ``boxes`` (x0, y0, x1, y1) on the page, as they lie in the photo."""
    surface = surfaces[int(rng.integers(len(surfaces)))]
    w, h = page.size
    size = (int(w / rng.uniform(0.4, 0.8)), int(h / rng.uniform(0.4, 0.8)))
    photo = np.empty((size[1], size[0], 3), dtype=np.float32)
    photo[:] = surface
    photo += rng.normal(0, 6, photo.shape)
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    degrees = float(rng.uniform(-8, 8))
    tilted = page.rotate(degrees, resample=Image.BICUBIC, expand=True)
    where = Image.new("L", page.size, 255).rotate(degrees, expand=True)
    x = int(rng.integers(0, max(1, size[0] - tilted.width)))
    y = int(rng.integers(0, max(1, size[1] - tilted.height)))
    image.paste(tilted, (x, y), where)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    light = 0.7 + 0.3 * (xs / size[0] + ys / size[1]) / 2
    photo = Image.fromarray(np.clip(np.asarray(image) * light[..., None], 0, 255).astype(np.uint8), "RGB")
    turn = np.radians(degrees)  # Pillow turns counter-clockwise about the page's centre
    rotation = np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
    moved = []
    for x0, y0, x1, y1 in boxes:
        corners = (np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) - (w / 2, h / 2)) @ rotation.T
        corners += (x + tilted.width / 2, y + tilted.height / 2)
        moved.append((*np.floor(corners.min(axis=0)).astype(int).tolist(), *np.ceil(corners.max(axis=0)).astype(int).tolist()))
    return photo, moved


def _filling_the_photo(page: Image.Image, boxes: list, surfaces: tuple, rng: np.random.Generator) -> tuple[Image.Image, list]:
    """The ``page`` photographed on one of ``surfaces`` as ``_photographed_on`` does, the photo then
    cropped to the tilted page, up to 4% inside it each way: the surface shows in its corners only."""
    photo, moved = _photographed_on(page, [*boxes, (0, 0, *page.size)], surfaces, rng)
    x0, y0, x1, y1 = moved.pop()  # the tilted page's box in the photo
    inset_x, inset_y = (int(rng.uniform(0, 0.04) * side) for side in (x1 - x0, y1 - y0))
    crop = (max(0, x0 + inset_x), max(0, y0 + inset_y), min(photo.width, x1 - inset_x), min(photo.height, y1 - inset_y))
    return photo.crop(crop), [(a - crop[0], b - crop[1], c - crop[0], d - crop[1]) for a, b, c, d in moved]


def box_iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0
