"""Read every digit in an image: load -> ink -> rows of pieces -> candidate digits -> network -> best path.

Digits are found on a copy of the page at most ``WORK_SIDE`` pixels on its long side (fast on
12-megapixel photos), then each candidate digit is cut from the full-resolution pixels. Blobs of
touching digits are over-segmented (``reading.cuts``), every way of grouping the parts of a row into
digits is a candidate (``reading.lattice``), all candidates of the image are scored by the network
in one batch, and each row's best path is what is read. Where a path reads a piece of ink as a digit
no more probable than ``DOUBT``, the piece is looked at again: cut finer, the new candidates scored
in a second batch, and the row's best path found anew (a 1 glued to its neighbour is too narrow for
the first cuts). A digit of the final paths read below ``SURE`` is read once more, as the mean of
the network's answers for its crop and the crop moved one pixel each way. Boxes are reported in
pixels of the input image as displayed (EXIF orientation applied), x1 and y1 exclusive.
"""

import itertools
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from digitnet.errors import ImageError
from digitnet.modelfile import DIGITS, NOT_A_DIGIT
from digitnet.reading.cuts import FINER_CUT_WIDTH, cut_into_parts
from digitnet.reading.ink import InkModel, measure_ink
from digitnet.reading.lattice import MAX_CANDIDATES, Candidate, best_path, candidates
from digitnet.reading.load import ImageSource, grey_array, grey_levels, load_image
from digitnet.reading.normalise import PATCH_SIDE, dilate, mnist_style, shifted_views
from digitnet.reading.segment import LOOSE_INK, Blob, TextRow, find_rows

WORK_SIDE = 1200
UNSURE = "?"
DOUBT = 0.8  # a piece the best path reads as a digit this probable or less is cut finer and read again
SURE = 0.9   # a digit of the final path read less probable than this is read again at 1-pixel shifts


@dataclass
class DigitReading:
    """One digit read from an image.

    digit: 0-9; confidence: the probability the network gives that digit for the chosen crop (below
    ``SURE``: the mean over the crop and its four 1-pixel shifts; with a model that has a "not a
    digit" output, that mass is not the digit's); box: (x0, y0, x1, y1)
    input-image pixels, x1/y1 exclusive; probabilities: (outputs,) float32, one per model output (10,
    or 11 with "not a digit" last); network_input: (28, 28) float32 in [0, 1], the crop the network
    saw; row: index of the text row it belongs to, 0 = top.
    """

    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: np.ndarray
    network_input: np.ndarray
    row: int

    def to_dict(self) -> dict:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 6),
            "box": list(self.box),
            "probabilities": [round(float(p), 6) for p in self.probabilities],
        }


@dataclass
class Reading:
    """Everything read from one image: digits in reading order, the text, the image's (width, height),
    and the page's confidence: the product of the digits' confidences (1.0 when nothing was read), the
    probability, as far as the network can tell, that every digit is right."""

    digits: list[DigitReading] = field(default_factory=list)
    text: str = ""
    size: tuple[int, int] = (0, 0)

    @property
    def confidence(self) -> float:
        return float(np.prod([d.confidence for d in self.digits]))

    def to_dict(self, image_name: str) -> dict:
        """The JSON object of ``digitnet predict --json``: {"image", "text", "confidence", "digits": [...]}."""
        return {"image": image_name, "text": self.text, "confidence": round(self.confidence, 6),
                "digits": [d.to_dict() for d in self.digits]}


def read_digits(image: ImageSource, model, min_confidence: float | None = None, name: str | None = None) -> Reading:
    """Find and read every digit in ``image`` (a path, the bytes of an image file, or a PIL image).

    model: a ``digitnet.modelfile.Model`` (10 outputs, or 11 with "not a digit"). Digits whose
    confidence is below ``min_confidence`` are written "?" in ``text``. ``name`` names the image in
    error messages. Raises ImageError, also for a page with more ink pieces, digits or candidate
    digits than ``segment.MAX_PIECES``, ``segment.MAX_DIGITS`` or ``lattice.MAX_CANDIDATES``.
    """
    refusing = NOT_A_DIGIT in model.classes
    page = segmented(image, name, refusing)
    answers: dict = {}
    _ask_network(page, model, answers)
    paths = _best_paths(page, answers)
    doubted = doubted_pieces(page.graphs, paths, answers)
    if doubted:
        cut_finer(page, doubted, refusing)
        _ask_network(page, model, answers)
        paths = _best_paths(page, answers)
    chosen = [(row, edge.blob) for row, path in enumerate(paths) for edge in path if edge.blob is not None]
    if not chosen:
        return Reading([], "", page.size)
    probabilities = np.array([answers[_key(blob)][0] for _, blob in chosen])
    inputs = [answers[_key(blob)][1] for _, blob in chosen]
    unsure = np.flatnonzero(probabilities[:, :DIGITS].max(axis=1) < SURE)
    if unsure.size:
        probabilities[unsure] = _read_shifted(model, [inputs[k] for k in unsure])
    digits = []
    for (row, blob), p, network_input in zip(chosen, probabilities, inputs):
        digit = int(p[:DIGITS].argmax())
        digits.append(DigitReading(digit, float(p[digit]), page.image_box(blob), p, network_input, row))
    return Reading(digits, reading_text(digits, min_confidence), page.size)


@dataclass
class RowGraph:
    """A text row's segmentation graph: the row, the parts each of its pieces is cut into (one list
    per piece of ``row.pieces``, left to right) and the candidate digits made of those parts."""

    row: TextRow
    cut_pieces: list[list[Blob]]
    edges: list[Candidate]

    @property
    def parts(self) -> list[Blob]:
        return [part for cut in self.cut_pieces for part in cut]

    @property
    def piece_of_part(self) -> list[int]:
        """(number of parts,) the index of the piece each part was cut from."""
        return [index for index, cut in enumerate(self.cut_pieces) for _ in cut]

    @property
    def candidate_count(self) -> int:
        """The candidate digits the network is shown (skips left out)."""
        return sum(edge.blob is not None for edge in self.edges)


@dataclass
class SegmentedPage:
    """An image cut into candidate digits, before the network is asked: the full-resolution grey
    image, its ink model (None: the image has no ink), the work-resolution piece labels (h, w) int,
    and each text row's graph, rows from the top."""

    grey: Image.Image
    ink_model: InkModel | None
    labels: np.ndarray
    graphs: list[RowGraph]

    @property
    def size(self) -> tuple[int, int]:
        return self.grey.size

    @property
    def candidate_count(self) -> int:
        return sum(graph.candidate_count for graph in self.graphs)

    def image_box(self, blob: Blob) -> tuple[int, int, int, int]:
        """A blob's box in input-image pixels (x0, y0, x1, y1), x1/y1 exclusive."""
        return _image_box(blob.box, self.labels.shape, self.size)


def segmented(image: ImageSource, name: str | None = None, refusing: bool = False) -> SegmentedPage:
    """Load ``image`` and build the segmentation graph of each of its text rows (none for an image
    without ink); refusing: the network that will score the candidates can say "not a digit"
    (``lattice.candidates``). Raises ImageError as ``read_digits`` does."""
    grey = grey_levels(load_image(image, name))
    size = grey.size
    scale = min(1.0, WORK_SIDE / max(size))
    work = grey if scale == 1.0 else grey.resize(_scaled(size, scale), Image.BOX)
    work_grey = grey_array(work)
    ink_model = measure_ink(work_grey)
    if ink_model is None:
        return SegmentedPage(grey, None, np.zeros(work_grey.shape, np.int32), [])
    shown_name = name or (str(image) if isinstance(image, (str, os.PathLike)) else "image")
    try:
        rows, labels = find_rows(ink_model.mask(ink_model.ink(work_grey)))
    except ImageError as e:
        raise ImageError(f"{shown_name}: {e}") from None
    fresh_labels = itertools.count(int(labels.max()) + 1)
    graphs = []
    for row in rows:
        cut_pieces = [cut_into_parts(piece, labels, row.digit_height, fresh_labels) for piece in row.pieces]
        graphs.append(_row_graph(row, cut_pieces, refusing))
    page = SegmentedPage(grey, ink_model, labels, graphs)
    if page.candidate_count > MAX_CANDIDATES:
        raise ImageError(f"{shown_name}: has {page.candidate_count:,} ways to cut its ink into digits, more than "
                         f"the {MAX_CANDIDATES:,} read in one image; crop it to the digits")
    return page


def doubted_pieces(graphs: list[RowGraph], paths: list[list[Candidate]], answers: dict) -> dict[int, set[int]]:
    """The pieces to look at again: row index -> indices (into ``row.pieces``) of the pieces wider
    than ``cuts.FINER_CUT_WIDTH`` digit heights that a digit of the row's best path lies in alone,
    read no more probable than ``DOUBT``. A digit made of several pieces (broken strokes) is left
    as it is. answers: as filled by ``_ask_network``."""
    doubted: dict[int, set[int]] = {}
    for row, (graph, path) in enumerate(zip(graphs, paths)):
        piece_of_part = graph.piece_of_part
        pieces = graph.row.pieces
        for edge in path:
            piece = piece_of_part[edge.start]
            if (edge.blob is not None and piece == piece_of_part[edge.end - 1]
                    and pieces[piece].width > FINER_CUT_WIDTH * graph.row.digit_height
                    and _digit_probability(answers, edge.blob) <= DOUBT):
                doubted.setdefault(row, set()).add(piece)
    return doubted


def cut_finer(page: SegmentedPage, doubted: dict[int, set[int]], refusing: bool) -> None:
    """Cut the pieces ``doubted`` (row index -> piece indices) finer and rebuild their rows' graphs,
    in place; a row whose new candidates would take the page beyond ``MAX_CANDIDATES`` is left as it was."""
    fresh_labels = itertools.count(int(page.labels.max()) + 1)
    count = page.candidate_count
    for row_index, piece_indices in doubted.items():
        graph = page.graphs[row_index]
        cut_pieces = list(graph.cut_pieces)
        saved = []
        for index in piece_indices:
            piece = graph.row.pieces[index]
            x0, y0, x1, y1 = piece.box
            window = page.labels[y0:y1, x0:x1]
            saved.append((window, window.copy()))  # put the piece back together, then cut it finer
            window[np.isin(window, [label for part in cut_pieces[index] for label in part.labels])] = piece.labels[0]
            cut_pieces[index] = cut_into_parts(piece, page.labels, graph.row.digit_height, fresh_labels, finer=True)
        rebuilt = _row_graph(graph.row, cut_pieces, refusing)
        added = rebuilt.candidate_count - graph.candidate_count
        if count + added > MAX_CANDIDATES:
            for window, before in reversed(saved):
                window[...] = before
            continue
        page.graphs[row_index] = rebuilt
        count += added


def candidate_inputs(page: SegmentedPage, deslant: bool) -> tuple[list[Candidate], np.ndarray]:
    """Every candidate digit of the page (skips left out) and what the network is shown of each:
    (edges, (len(edges), 28, 28) float32 in [0, 1])."""
    scored = [edge for graph in page.graphs for edge in graph.edges if edge.blob is not None]
    return scored, _network_inputs(page, [edge.blob for edge in scored], deslant)


def _network_inputs(page: SegmentedPage, blobs: list[Blob], deslant: bool) -> np.ndarray:
    """What the network is shown of each blob: (len(blobs), 28, 28) float32 in [0, 1]."""
    inputs = [mnist_style(_digit_ink(page.grey, page.ink_model, blob, page.labels), deslant=deslant) for blob in blobs]
    return np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.float32)


def _key(blob: Blob) -> tuple:
    return blob.box, blob.labels


def _digit_probability(answers: dict, blob: Blob) -> float:
    """How probable the network finds the digit it reads in ``blob`` (``answers``: as filled by ``_ask_network``)."""
    return float(answers[_key(blob)][0][:DIGITS].max())


def _ask_network(page: SegmentedPage, model, answers: dict) -> None:
    """Show the network every candidate digit of ``page`` not in ``answers`` yet, in one batch, and
    keep its answers: (box, labels) -> (probabilities (outputs,) float32, network input (28, 28) float32)."""
    new = {_key(edge.blob): edge.blob for graph in page.graphs for edge in graph.edges
           if edge.blob is not None and _key(edge.blob) not in answers}
    if not new:
        return
    inputs = _network_inputs(page, list(new.values()), model.deslants_input)
    probabilities = model.predict_proba(inputs.reshape(len(inputs), -1))
    answers.update(zip(new, zip(probabilities, inputs)))


def _read_shifted(model, inputs: list[np.ndarray]) -> np.ndarray:
    """The network's answer for each input (28, 28) as the mean over it and its 1-pixel shifts
    (``normalise.shifted_views``): -> (len(inputs), outputs)."""
    views = np.stack([shifted_views(field) for field in inputs])  # (n, views, 28, 28)
    answers = model.predict_proba(views.reshape(-1, views.shape[2] * views.shape[3]))
    return answers.reshape(*views.shape[:2], -1).mean(axis=1)


def _best_paths(page: SegmentedPage, answers: dict) -> list[list[Candidate]]:
    """Each row's best path: its edges' scores are their priors plus the log-probability of the digit
    the network reads in them (``answers``: as filled by ``_ask_network``)."""
    paths = []
    for graph in page.graphs:
        scores = np.array([edge.prior + (np.log(max(_digit_probability(answers, edge.blob), 1e-12))
                                         if edge.blob is not None else 0.0) for edge in graph.edges])
        paths.append(best_path(graph.edges, scores, len(graph.piece_of_part)))
    return paths


def _row_graph(row: TextRow, cut_pieces: list[list[Blob]], refusing: bool) -> RowGraph:
    """A row's segmentation graph from the parts each of its pieces is cut into."""
    graph = RowGraph(row, cut_pieces, [])
    graph.edges = candidates(graph.parts, graph.piece_of_part, row.digit_height, refusing)
    return graph


def reading_text(digits: list[DigitReading], min_confidence: float | None = None) -> str:
    """Digits in reading order, rows joined by newlines; unsure digits (below ``min_confidence``) as "?"."""
    rows: dict[int, str] = {}
    for d in digits:
        sure = min_confidence is None or d.confidence >= min_confidence
        rows[d.row] = rows.get(d.row, "") + (str(d.digit) if sure else UNSURE)
    return "\n".join(rows[r] for r in sorted(rows))


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _image_box(box, work_shape, image_size) -> tuple[int, int, int, int]:
    """A work-resolution box in input-image pixels (grown outwards to whole pixels)."""
    sx, sy = image_size[0] / work_shape[1], image_size[1] / work_shape[0]
    x0, y0, x1, y1 = box
    return (int(np.floor(x0 * sx)), int(np.floor(y0 * sy)),
            min(image_size[0], int(np.ceil(x1 * sx))), min(image_size[1], int(np.ceil(y1 * sy))))


def _digit_ink(grey: Image.Image, ink_model: InkModel, blob: Blob, labels: np.ndarray) -> np.ndarray:
    """The ink of one candidate digit, cut from the full-resolution grey image: (h, w) float32 in [0, 1].

    The crop is resampled so that its long side is about ``PATCH_SIDE``; ink of other pieces and
    parts that reaches into the box is masked out; loose ink (specks no piece owns) is kept.
    """
    work_h, work_w = labels.shape
    x0, y0, x1, y1 = blob.box
    sx, sy = grey.size[0] / work_w, grey.size[1] / work_h
    source_box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
    long_side = max(source_box[2] - source_box[0], source_box[3] - source_box[1])
    factor = PATCH_SIDE / long_side
    size = (max(1, round((source_box[2] - source_box[0]) * factor)),
            max(1, round((source_box[3] - source_box[1]) * factor)))
    resample = Image.BOX if factor < 1 else Image.BILINEAR
    patch = grey_array(grey.resize(size, resample, box=source_box))
    region = (x0 / work_w, y0 / work_h, x1 / work_w, y1 / work_h)
    ink = ink_model.ink(patch, region)
    own = np.isin(labels[max(0, y0 - 1) : y1 + 1, max(0, x0 - 1) : x1 + 1], blob.labels + (LOOSE_INK,))
    own = dilate(own, 1)[1 if y0 > 0 else 0 :, 1 if x0 > 0 else 0 :][: y1 - y0, : x1 - x0]
    keep = Image.fromarray(own.astype(np.uint8) * 255, "L").resize(size, Image.BILINEAR)
    return ink * (np.asarray(keep) > 0)

