"""The segmentation graph of a text row, and the path through it that the network likes best.

A row is a sequence of parts (ink pieces, and the parts blobs of touching digits were cut into),
cluster by cluster from left to right. The graph's nodes are the places between consecutive parts;
an edge from node i to node j is the candidate digit made of parts i..j-1 (candidate merges of
broken pieces and of cut parts alike; every ink piece, however wide, is a candidate whole), or,
for a small part standing alone, skipping it as a speck.
Each candidate digit is scored by the network (one batched call for the whole image, made by the
reader): log P(digit) plus a light prior: the geometry doubts candidates much wider or much
shorter than the row's digits (an uncut piece less so: some digits are wide, and a slanted one
wider still when the network can refuse two digits as "not a digit") and digits made of parts
with paper between them, and ending a digit at a cut through ink costs ``CUT_SCORE`` (a
network trained on whole digits finds a "1" in many a part of one). Dynamic programming finds the
best-scoring path from the first node to the last, as in Liu, Sako and Fujisawa (PAMI 2004).
"""

from dataclasses import dataclass

import numpy as np

from digitnet.reading.segment import Blob, union

MAX_CANDIDATES = 2500  # an image whose graphs hold more candidate digits than this is refused
MAX_PARTS = 14        # a candidate digit is made of at most this many consecutive parts (the pieces of
                      # a wide broken digit, cut into parts, can make more than 10)...
MAX_WIDTH = 1.8       # ...and is at most this many of the row's digit heights wide, unless its parts
                      # make up one whole ink piece (a wide digit that was cut must be put back together)
WIDE = 1.0            # the prior doubts candidates wider than this many digit heights (a single
WHOLE_WIDE = 1.3      # uncut piece: than this many, as some digits are wide; or, for a network
REFUSING_WIDE = 2.0   # that can say "not a digit" and so refuses two digits in one piece itself,
                      # than this many, as a slanted digit is)...
SHORT = 0.8           # ...or shorter than this many
PRIOR_WEIGHT = 4.0    # log-score lost per digit height beyond those bounds
SPECK_SIDE = 0.5      # a part whose longer side is below this many digit heights may be skipped...
SKIP_SCORE = np.log(0.5)   # ...at the cost of this log-score
CUT_SCORE = np.log(0.5)    # the log-score of ending a digit where a cut goes through ink
GAP_WEIGHT = 6.0           # log-score lost per digit height of paper between the parts of one digit


@dataclass
class Candidate:
    """An edge of the graph: parts ``start``..``end - 1`` of a row, as one digit (``blob``) or, when
    ``blob`` is None, skipped; ``prior``: its log-score before the network is asked."""

    start: int
    end: int
    blob: Blob | None
    prior: float


def candidates(parts: list[Blob], pieces: list[int], digit_height: float, refusing: bool = False) -> list[Candidate]:
    """Every edge of a row's graph. parts: in reading order; pieces: (len(parts),) which ink piece
    each part was cut from (consecutive parts of one piece meet at a cut); digit_height: mask pixels;
    refusing: the network that scores them can say "not a digit"."""
    whole_wide = REFUSING_WIDE if refusing else WHOLE_WIDE
    edges = []
    for start in range(len(parts)):
        if max(parts[start].width, parts[start].height) < SPECK_SIDE * digit_height:
            edges.append(Candidate(start, start + 1, None, SKIP_SCORE))
        for end in range(start + 1, min(len(parts), start + MAX_PARTS) + 1):
            blob = union(parts[start:end])
            at_cut = end < len(parts) and pieces[end - 1] == pieces[end]
            whole_piece = (start == 0 or pieces[start - 1] != pieces[start]) and pieces[start] == pieces[end - 1] \
                and not at_cut
            if end - start > 1 and blob.width > MAX_WIDTH * digit_height and not whole_piece:
                if pieces[end - 1] != pieces[start]:
                    break  # wider still from here on, and never one whole piece
                continue  # the parts so far may still add up to their whole piece
            paper = paper_between(parts[start:end])
            prior = (shape_prior(blob, digit_height, whole_wide if whole_piece else WIDE) + CUT_SCORE * at_cut
                     - GAP_WEIGHT * paper / digit_height)
            edges.append(Candidate(start, end, blob, prior))
    return edges


def paper_between(parts: list[Blob]) -> int:
    """The columns of paper (mask pixels) between the parts of one candidate digit, left to right: each
    part's gap to the right edge of all the parts before it (a small part inside a wide one makes none)."""
    paper, right_edge = 0, parts[0].box[2]
    for part in parts[1:]:
        paper += max(0, part.box[0] - right_edge)
        right_edge = max(right_edge, part.box[2])
    return paper


def shape_prior(blob: Blob, digit_height: float, wide: float = WIDE) -> float:
    """The geometric prior's log-score of a candidate digit: 0 for digit-shaped boxes, negative for
    boxes much wider or much shorter than the row's digits."""
    too_wide = max(0.0, blob.width / digit_height - wide)
    too_short = max(0.0, SHORT - blob.height / digit_height)
    return -PRIOR_WEIGHT * (too_wide + too_short)


def best_path(edges: list[Candidate], scores: np.ndarray, part_count: int) -> list[Candidate]:
    """The edges of the highest-scoring path from node 0 to node ``part_count``.

    scores: (len(edges),) log-score of each edge (the network's and the prior's together). Ties go
    to the path found first, edges taken in order of their end node.
    """
    best = np.full(part_count + 1, -np.inf)
    best[0] = 0.0
    came_by: list[int | None] = [None] * (part_count + 1)
    for index in sorted(range(len(edges)), key=lambda k: (edges[k].end, edges[k].start)):
        edge = edges[index]
        total = best[edge.start] + scores[index]
        if total > best[edge.end]:
            best[edge.end], came_by[edge.end] = total, index
    path, node = [], part_count
    while node > 0 and came_by[node] is not None:
        path.append(edges[came_by[node]])
        node = edges[came_by[node]].start
    return path[::-1]
