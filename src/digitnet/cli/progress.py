"""A tqdm progress bar per epoch with the live loss, and one summary line per finished epoch."""

import math
import sys
import time

from tqdm import tqdm

from digitnet.training import EpochRecord, Reporter

REFRESH_EVERY = 100  # steps between bar updates: drawing costs more than a training step


class ProgressReporter(Reporter):
    def __init__(self, epochs: int, show_bar: bool = True, stream=None):
        """stream: where to draw the bar; by default stderr, and then only when it is a terminal."""
        self.epochs = epochs
        self.show_bar = show_bar
        self._bar_output = dict(file=stream or sys.stderr, disable=None if stream is None else False)
        self.started = time.perf_counter()
        self.bar = None

    def epoch_started(self, epoch: int, steps: int) -> None:
        self.close()
        self._loss_sum, self._steps = 0.0, 0
        if self.show_bar:
            self.bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="step",
                            leave=False, dynamic_ncols=True, **self._bar_output)

    def step_done(self, loss: float) -> None:
        self._loss_sum += loss
        self._steps += 1
        if self.bar is not None and self._steps % REFRESH_EVERY == 0:
            self.bar.set_postfix_str(f"loss {self._loss_sum / self._steps:.4f}", refresh=False)
            self.bar.update(REFRESH_EVERY)

    def close(self) -> None:
        """Remove the bar, so that whatever is printed next starts on a clean line."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def epoch_done(self, record: EpochRecord) -> None:
        """Print the epoch's line: above the bar, which may already be the next epoch's (an epoch can
        be evaluated while the next one trains)."""
        line = format_epoch(record, self.epochs, time.perf_counter() - self.started)
        if self.bar is None:
            print(line, file=sys.stderr)
        else:
            self.bar.write(line, file=sys.stderr)


def format_epoch(record: EpochRecord, epochs: int, elapsed: float) -> str:
    parts = [f"epoch {record.epoch:>{len(str(epochs))}}/{epochs}", f"train loss {record.train_loss:.4f}"]
    if not math.isnan(record.validation_loss):
        parts += [f"val loss {record.validation_loss:.4f}", f"val acc {record.validation_accuracy:.4f}"]
    if not math.isnan(record.test_accuracy):
        parts.append(f"test acc {record.test_accuracy:.4f}")
    parts.append(f"{record.seconds:.2f} s (total {elapsed:.1f} s)")
    return "  ".join(parts)
