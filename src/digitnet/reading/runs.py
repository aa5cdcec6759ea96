"""Runs of ink: a bool mask as the runs of True along its rows, and connected components found on
those runs (8-connectivity) in time near-linear in the number of runs, never pixel by pixel.
Runs are (rows, starts, ends): three (n_runs,) int arrays in row-major order, ends exclusive.
"""

import numpy as np


def row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along each row: mask (h, w) bool -> (rows, starts, ends), ends exclusive, row-major order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return rows, starts, ends


def painted(shape: tuple[int, int], rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A bool image of ``shape`` True on the runs given."""
    return paint_labels(shape, rows, starts, ends, np.zeros(rows.size, np.int64)) > 0


def label_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Connected-component label of each run (8-connectivity): -> (n_runs,) int, 0..n_components-1."""
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    stride = int(ends.max()) + 2
    start_keys = rows * stride + starts
    end_keys = rows * stride + ends
    # Runs of the row above that touch run b (diagonals included): a.end >= b.start and a.start <= b.end.
    first = np.searchsorted(end_keys, (rows - 1) * stride + starts, side="left")
    last = np.searchsorted(start_keys, (rows - 1) * stride + ends, side="right")
    counts = np.maximum(last - first, 0)
    below = np.repeat(np.arange(n), counts)
    above = np.repeat(first, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    labels = np.arange(n)
    while True:
        lowest = np.minimum(labels[above], labels[below])
        updated = labels.copy()
        np.minimum.at(updated, above, lowest)
        np.minimum.at(updated, below, lowest)
        updated = updated[updated]
        if np.array_equal(updated, labels):
            break
        labels = updated
    return np.unique(labels, return_inverse=True)[1]


def paint_labels(shape, rows, starts, ends, run_labels) -> np.ndarray:
    """A label image: (h, w) int32, 0 = background, component k painted as k + 1."""
    image = np.zeros(shape[0] * shape[1], dtype=np.int32)
    lengths = ends - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    image[np.repeat(rows * shape[1] + starts, lengths) + offsets] = np.repeat(run_labels + 1, lengths)
    return image.reshape(shape)


def component_boxes(rows, starts, ends, run_labels) -> np.ndarray:
    """Bounding box of each component: -> (n_components, 4) int (x0, y0, x1, y1)."""
    n = int(run_labels.max()) + 1 if run_labels.size else 0
    boxes = np.empty((n, 4), dtype=np.int64)
    boxes[:, :2] = np.iinfo(np.int64).max
    boxes[:, 2:] = -1
    np.minimum.at(boxes[:, 0], run_labels, starts)
    np.minimum.at(boxes[:, 1], run_labels, rows)
    np.maximum.at(boxes[:, 2], run_labels, ends)
    np.maximum.at(boxes[:, 3], run_labels, rows + 1)
    return boxes


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The connected components of a bool mask (h, w): its label image (as ``paint_labels``) and
    their bounding boxes (as ``component_boxes``)."""
    rows, starts, ends = row_runs(mask)
    run_labels = label_runs(rows, starts, ends)
    return paint_labels(mask.shape, rows, starts, ends, run_labels), component_boxes(rows, starts, ends, run_labels)


def along_sides(labels: np.ndarray, fraction: float) -> list[np.ndarray]:
    """The components of a label image (h, w) (k + 1 for component k, as ``paint_labels``) that
    touch each side of the image along at least ``fraction`` of it: their labels, for the top,
    bottom, left and right sides."""
    found = []
    for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        ids, counts = np.unique(side[side > 0], return_counts=True)
        found.append(ids[counts >= fraction * side.size])
    return found
