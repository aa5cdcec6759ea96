"""Learning-rate schedules: the rate of every training step as a pure function of where training is."""

import math
from dataclasses import dataclass

from digitnet.training.fields import check_field_types

KINDS = ("constant", "step", "cosine")


@dataclass(frozen=True)
class Schedule:
    """How the learning rate moves from the base rate over training.

    kind: ``constant`` (the base rate throughout), ``step`` (times ``step_factor`` every
    ``step_every`` epochs) or ``cosine`` (half a cosine from the base rate down to
    ``final_fraction`` of it at the end of the last epoch).
    warmup_epochs: epochs (fractions allowed) over which the rate first climbs linearly from
    base / warm-up steps to the base rate; the schedule proper starts after them.
    """

    kind: str = "constant"
    warmup_epochs: float = 0.0
    step_every: int = 30
    step_factor: float = 0.1
    final_fraction: float = 0.0

    def __post_init__(self):
        check_field_types(self, "schedule.")
        problems = []
        if self.kind not in KINDS:
            problems.append(f"schedule kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not (math.isfinite(self.warmup_epochs) and self.warmup_epochs >= 0):
            problems.append(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        if self.step_every < 1:
            problems.append(f"step_every must be at least 1 epoch, got {self.step_every}")
        if not 0 < self.step_factor <= 1:
            problems.append(f"step_factor must be in (0, 1], got {self.step_factor}")
        if not 0 <= self.final_fraction <= 1:
            problems.append(f"final_fraction must be in [0, 1], got {self.final_fraction}")
        if problems:
            raise ValueError("; ".join(problems))


def learning_rate_at(schedule: Schedule, base_rate: float, epoch: int, step: int, steps_per_epoch: int,
                     epochs: int) -> float:
    """The learning rate of step ``step`` (0-based) of epoch ``epoch`` (0-based) in a run of ``epochs``."""
    global_step = epoch * steps_per_epoch + step
    warmup_steps = round(schedule.warmup_epochs * steps_per_epoch)
    if global_step < warmup_steps:
        return base_rate * (global_step + 1) / warmup_steps
    if schedule.kind == "constant":
        return base_rate
    if schedule.kind == "step":
        return base_rate * schedule.step_factor ** (epoch // schedule.step_every)
    progress = (global_step - warmup_steps) / max(1, epochs * steps_per_epoch - warmup_steps)
    floor = base_rate * schedule.final_fraction
    return floor + (base_rate - floor) * (1 + math.cos(math.pi * progress)) / 2
