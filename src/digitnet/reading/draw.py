"""Pictures of a reading: the image with a box and the digit drawn on each digit, and the 28x28
inputs the network saw, side by side."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitnet.reading.load import ImageSource, load_image

BOX_COLOUR = (230, 40, 40)
SHEET_SCALE = 4
SHEET_GAP = 4
CAPTION_HEIGHT = 18


def annotate(image: ImageSource, reading) -> Image.Image:
    """An RGB copy of ``image`` with each digit's box and "digit confidence%" drawn on it."""
    canvas = load_image(image).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(max(canvas.size) / 400))
    for d in reading.digits:
        x0, y0, x1, y1 = d.box
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=BOX_COLOUR, width=line)
        font = ImageFont.load_default(size=max(10, round(0.35 * (y1 - y0))))
        label = f"{d.digit} {d.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        y = y0 - (bottom - top) - 2 * line if y0 - (bottom - top) - 2 * line >= 0 else y1 + line
        draw.rectangle((x0, y, x0 + right - left + 2 * line, y + bottom + line), fill=BOX_COLOUR)
        draw.text((x0 + line - left, y), label, fill=(255, 255, 255), font=font)
    return canvas


def crops_sheet(reading) -> Image.Image:
    """The network inputs side by side, scaled up ``SHEET_SCALE`` times, each captioned with its digit."""
    side = 28 * SHEET_SCALE
    count = max(1, len(reading.digits))
    sheet = Image.new("L", (count * side + (count + 1) * SHEET_GAP, side + 2 * SHEET_GAP + CAPTION_HEIGHT), 64)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=CAPTION_HEIGHT - 4)
    for i, d in enumerate(reading.digits):
        tile = Image.fromarray(np.round(d.network_input * 255).astype(np.uint8), "L")
        x = SHEET_GAP + i * (side + SHEET_GAP)
        sheet.paste(tile.resize((side, side), Image.NEAREST), (x, SHEET_GAP))
        draw.text((x, side + SHEET_GAP + 2), f"{d.digit} {d.confidence:.0%}", fill=255, font=font)
    return sheet
