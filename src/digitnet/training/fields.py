"""Type checks for the settings dataclasses (TrainingConfig, Schedule, Augmentation), by their annotations.

Values often come from TOML or JSON, where ``epochs = "many"`` or ``batch_size = 1e9`` is easy to
write: each field is checked against its declared type before any range check compares it, so
the message names the field and the type it needs.
"""

import numbers
from dataclasses import fields

KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def checked(value, kind, name: str):
    """``value`` as a ``kind`` (int, float, bool or str); ValueError naming ``name`` if it is not one."""
    ok = {
        int: isinstance(value, numbers.Integral) and not isinstance(value, bool),
        float: isinstance(value, numbers.Real) and not isinstance(value, bool),
        bool: isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if not ok:
        raise ValueError(f"{name} must be {KIND_NAMES[kind]}, got {value!r}")
    return kind(value)


def check_field_types(settings, prefix: str = "") -> None:
    """Check (and normalise, e.g. 2 -> 2.0 for a float) every int/float/bool/str field of a frozen dataclass."""
    for f in fields(settings):
        if f.type in KIND_NAMES:
            object.__setattr__(settings, f.name, checked(getattr(settings, f.name), f.type, prefix + f.name))
