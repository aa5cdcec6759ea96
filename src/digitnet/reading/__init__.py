"""Reading digits in real photos and scans: load, ink mask, segment, MNIST-style crops, network.

    from digitnet.reading import read_digits
    reading = read_digits("photo.jpg", load_model())
    reading.text, [(d.digit, d.confidence, d.box) for d in reading.digits]
"""

from digitnet.reading.draw import annotate, crops_sheet
from digitnet.reading.load import MAX_PIXELS, load_image
from digitnet.reading.read import DigitReading, Reading, read_digits

__all__ = ["MAX_PIXELS", "DigitReading", "Reading", "annotate", "crops_sheet", "load_image", "read_digits"]
