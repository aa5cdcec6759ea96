"""Training crops cut by the reader itself: pages of MNIST training digits, segmented exactly as the
reader segments a photo, each candidate digit labelled by where the written digits really are.

``reader_data`` synthesises what a bad cut or merge might look like; these are the candidates the
segmentation graph really offers the network (half a broken 8, a 4's stem cut off as a "1", two
digits of a touching string taken as one), which is what Liu, Sako and Fujisawa (PAMI 2004) train
their "not a digit" class on. A candidate whose box matches a written digit's box (IoU at least
``MATCH``) is that digit, as the reader crops it; one that matches no digit even loosely (IoU below
``MISMATCH`` with every box) is not a digit; those in between are left out, being neither.
"""

from concurrent.futures import ProcessPoolExecutor

import numpy as np

from digitnet.reading.read import candidate_inputs, segmented
from digitnet.reading.reader_data import NOT_A_DIGIT
from digitnet.reading.synthetic import MNIST_CONDITIONS, box_iou, make_page

MATCH = 0.85
MISMATCH = 0.6
PAGES_PER_TASK = 50


def page_crops(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, pages: int, deslant: bool,
               workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The labelled candidates of ``pages`` pages (conditions in turn from ``MNIST_CONDITIONS``) made
    of ``images`` (n, 28, 28) uint8 with ``labels`` (n,) 0-9: (m, 784) float32 network inputs and
    (m,) int64 labels 0-10 (10 = not a digit). The same whatever ``workers``."""
    seeds = rng.integers(0, 2**32, (pages + PAGES_PER_TASK - 1) // PAGES_PER_TASK)
    counts = [min(PAGES_PER_TASK, pages - k * PAGES_PER_TASK) for k in range(len(seeds))]
    starts = [k * PAGES_PER_TASK for k in range(len(seeds))]
    tasks = [(images, labels, int(seed), start, count, deslant) for seed, start, count in zip(seeds, starts, counts)]
    if workers <= 1 or len(tasks) <= 1:
        parts = [_task_crops(*task) for task in tasks]
    else:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_task_crops, *zip(*tasks)))
    if not parts:
        return np.zeros((0, 28 * 28), np.float32), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def labelled_candidates(page, deslant: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One ``synthetic.Page``'s candidate digits as the reader's network sees them, labelled, without
    those that are neither digit nor non-digit: inputs (m, 28, 28) float32, labels (m,) int64 and
    boxes (m, 4) int (x0, y0, x1, y1) page pixels, in reading order."""
    segmentation = segmented(page.image)
    edges, inputs = candidate_inputs(segmentation, deslant)
    truth = page.text.replace("\n", "")
    boxes = [segmentation.image_box(edge.blob) for edge in edges]
    keep, out = [], []
    for k, box in enumerate(boxes):
        overlaps = [box_iou(box, written) for written in page.boxes]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] >= MATCH:
            keep.append(k)
            out.append(int(truth[best]))
        elif best < 0 or overlaps[best] < MISMATCH:
            keep.append(k)
            out.append(NOT_A_DIGIT)
    return inputs[keep], np.array(out, np.int64), np.array(boxes, int).reshape(-1, 4)[keep]


def _task_crops(images, labels, seed: int, start: int, count: int, deslant: bool):
    """``page_crops`` for pages ``start``..``start + count - 1``, in one process."""
    rng = np.random.default_rng(seed)
    inputs, targets = [], []
    for number in range(start, start + count):
        page = make_page(MNIST_CONDITIONS[number % len(MNIST_CONDITIONS)], rng, images, labels)
        x, y, _ = labelled_candidates(page, deslant)
        inputs.append(x.reshape(-1, 28 * 28))
        targets.append(y)
    return np.concatenate(inputs), np.concatenate(targets)
