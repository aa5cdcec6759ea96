"""Training recipes: named ones (``seed``, ``best``, ``conv``), TOML recipe files, and the recipe inside a model.

A recipe is everything ``digitnet train`` needs besides the data: the ``TrainingConfig``, how many
training images to hold out for validation, and whether to fit a calibration temperature on them.
It is stored in every trained model's metadata (``recipe``), so a model says how it was made and
``digitnet train --recipe model.npz`` makes another the same way.

A recipe file holds the same keys as that metadata; any key left out keeps the ``seed`` value::

    name = "my-recipe"
    learning_rate = 0.05
    batch_size = 128
    momentum = 0.9
    [schedule]
    kind = "cosine"
    [augmentation]
    shift = 2.0
"""

import json
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from digitnet.errors import TrainingError
from digitnet.training.config import TrainingConfig
from digitnet.training.fields import checked

TABLES = ("schedule", "augmentation")


@dataclass(frozen=True)
class Recipe:
    """A named TrainingConfig plus the data choices that go with it."""

    name: str
    config: TrainingConfig
    validation_size: int = 0
    calibrate: bool = False

    def __post_init__(self):
        object.__setattr__(self, "name", checked(self.name, str, "name"))
        object.__setattr__(self, "validation_size", checked(self.validation_size, int, "validation_size"))
        object.__setattr__(self, "calibrate", checked(self.calibrate, bool, "calibrate"))
        if self.validation_size < 0:
            raise ValueError(f"validation_size must be >= 0, got {self.validation_size}")
        if (self.calibrate or self.config.needs_validation) and not self.validation_size:
            raise ValueError("calibrate, patience and keep_best need validation_size > 0")

    def to_dict(self) -> dict:
        """Flat JSON/TOML-ready form: name, every config field, validation_size, calibrate."""
        return {"name": self.name, **self.config.to_dict(), "validation_size": self.validation_size,
                "calibrate": self.calibrate}

    @classmethod
    def from_dict(cls, values: dict, base: "Recipe | None" = None) -> "Recipe":
        """A recipe from ``to_dict``-style values; missing keys come from ``base`` (default: seed)."""
        base = base or SEED
        merged = {**base.to_dict(), **{k: v for k, v in values.items() if k not in TABLES}}
        for table in TABLES:
            given = values.get(table, {})
            if not isinstance(given, dict):
                raise ValueError(f"{table} must be a table of settings, got {given!r}")
            merged[table] = {**merged[table], **given}
        config_keys = {f.name for f in fields(TrainingConfig)}
        unknown = set(merged) - config_keys - {"name", "validation_size", "calibrate"}
        if unknown:
            raise ValueError(f"unknown recipe keys: {', '.join(sorted(unknown))}")
        config = TrainingConfig(**{k: merged[k] for k in config_keys})
        return cls(merged["name"], config, merged["validation_size"], merged["calibrate"])

    def with_overrides(self, **overrides) -> "Recipe":
        """This recipe with some config fields (or validation_size, calibrate) replaced; None values are ignored.

        The result keeps the name unless a training choice changed: a different seed or number of
        held-out images trains the same recipe on other draws or data, and the metadata records both.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        validation_size = overrides.pop("validation_size", self.validation_size)
        calibrate = overrides.pop("calibrate", self.calibrate)
        config = replace(self.config, **overrides)
        same = replace(config, seed=self.config.seed) == self.config and calibrate == self.calibrate
        return Recipe(self.name if same else f"{self.name}-modified", config, validation_size, calibrate)


# The original: plain SGD, lr 0.1, batch 32, 200 epochs, no augmentation. It holds out 5,000
# images for validation like ``digitnet train`` always did; the shipped seed model uses --validation 0.
SEED = Recipe("seed", TrainingConfig(), validation_size=5000)
BEST = Recipe.from_dict({
    "name": "best",
    "learning_rate": 0.05, "batch_size": 128, "epochs": 60,
    "momentum": 0.9, "nesterov": True, "weight_decay": 5e-5,
    "schedule": {"kind": "cosine", "warmup_epochs": 1.0},
    "augmentation": {"shift": 2.0, "rotation": 10.0, "scale": 0.1, "shear": 10.0, "elastic": 1.0,
                     "thickness": 0.3},
    "keep_best": True, "validation_size": 5000, "calibrate": True,
})
# The best recipe's training on a network with two hand-written convolutions in front (``nn.convnet``),
# for 30 epochs: about 12 minutes on one core, five times the best recipe's per epoch.
CONV = Recipe.from_dict({**BEST.to_dict(), "name": "conv", "convolutions": [16, 32], "layer_sizes": [784, 256, 10],
                         "trainer": "reference", "epochs": 30})
NAMED_RECIPES = {"seed": SEED, "best": BEST, "conv": CONV}


def recipe_to_toml(recipe: Recipe) -> str:
    """The recipe as a TOML document that ``load_recipe`` reads back to an equal recipe."""
    values = recipe.to_dict()
    lines = [f"{key} = {_toml_value(value)}" for key, value in values.items() if key not in TABLES]
    for table in TABLES:
        lines += ["", f"[{table}]"] + [f"{key} = {_toml_value(value)}" for key, value in values[table].items()]
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    return str(value)


def load_recipe(spec: str) -> Recipe:
    """A recipe by name (``seed``, ``best``), from a ``.toml`` file, or from a model file's metadata.

    Raises TrainingError with a one-line reason when the file is missing or malformed.
    """
    if spec in NAMED_RECIPES and not Path(spec).exists():
        return NAMED_RECIPES[spec]
    path = Path(spec)
    if not path.is_file():
        raise TrainingError(f"{spec}: no recipe of that name ({', '.join(NAMED_RECIPES)}) and no such file")
    if path.suffix == ".npz":
        from digitnet.modelfile import load_model

        values = load_model(path).metadata.get("recipe")
        if not isinstance(values, dict):
            raise TrainingError(f"{path}: the model does not say which recipe made it")
        if values.get("optimizer") == "sgd":  # how models of digitnet 0.1.0 named plain SGD
            values = {k: v for k, v in values.items() if k != "optimizer"}
    else:
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise TrainingError(f"{path}: not a valid TOML recipe file ({e})") from None
        values.setdefault("name", path.stem)
    try:
        return Recipe.from_dict(values)
    except (TypeError, ValueError) as e:
        raise TrainingError(f"{path}: bad recipe ({e})") from None
