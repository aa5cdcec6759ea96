"""The project's exceptions: one per domain, each with a message a user can act on.

The CLI turns any ``DigitnetError`` into one line on stderr and a non-zero exit code.
"""


class DigitnetError(Exception):
    """Base class of every error digitnet raises on purpose."""


class DataError(DigitnetError):
    """A dataset could not be found, read or validated."""


class ModelFileError(DigitnetError):
    """A model file is missing, corrupt, of the wrong version or not a digitnet model."""


class ImageError(DigitnetError):
    """An input image could not be read or is not usable."""


class TrainingError(DigitnetError):
    """Training cannot go on (e.g. the loss or the weights became non-finite)."""


class StudyError(DigitnetError):
    """A sweep cannot run (e.g. its cluster is unreachable) or a results/history file is unusable."""
