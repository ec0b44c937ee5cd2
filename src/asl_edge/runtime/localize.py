"""Hand localisation: where to cut the square that becomes the 28x28 model input.

``--roi auto`` runs, in order of preference:

1. ``hands``: MediaPipe's palm detector and hand-landmark model (Apache-2.0, converted to ONNX
   by ``scripts/convert_hand_models.py`` and shipped in ``asl_edge/models/hands``), run on ONNX
   Runtime with this module's own anchor decoding and weighted non-maximum suppression. The palm
   detection gives a rotated hand region; the landmark model finds the 21 hand joints in it and
   their bounding box, squared and widened by ``margin``, is the crop. On video the landmarks of
   one frame give the next frame's region (``track``), so the palm detector only runs when the
   hand is lost, as MediaPipe's own tracking graph does.
2. ``skin``: a classical OpenCV method, for when the models are missing or find nothing: skin
   colour in YCrCb, cleaned up, largest blob.
3. ``fixed``: the fixed centre box (or any ``Roi``), the last resort.

Every box is a square inside the frame whose side is a multiple of 28 (see ``Roi.box``), and
every result says which method produced it. Numpy, OpenCV and ONNX Runtime only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import AslEdgeError
from .preprocess import MODEL_SIZE, Roi

log = logging.getLogger(__name__)

HANDS_DIR = Path(__file__).resolve().parent.parent / "models" / "hands"
METHODS = ("center", "auto", "hands", "skin")  # what --roi takes besides 'cx,cy,size'

Box = tuple[int, int, int, int]


@dataclass
class Located:
    """A square pixel box (x0, y0, x1, y1) inside the frame and how it was found."""

    box: Box
    method: str  # "landmarks", "skin" or "fixed"
    score: float = 1.0
    landmarks: np.ndarray | None = field(default=None, repr=False)  # (21, 2) frame pixels

    def to_dict(self) -> dict:
        return {"box": list(self.box), "method": self.method, "score": round(self.score, 4)}


# hand-landmark bones (MediaPipe's 21 joints: 0 wrist, 1-4 thumb, 5-8 index ... 17-20 little)
BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10),
         (10, 11), (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18),
         (18, 19), (19, 20))
PALM = (0, 1, 2, 5, 9, 13, 17)


def hand_mask(landmarks: np.ndarray, shape: tuple[int, int], origin: tuple[int, int] = (0, 0),
              bone_width: float = 0.12, grow: float = 0.1, forearm: float = 0.5) -> np.ndarray:
    """uint8 mask (255 = hand) of ``shape`` (h, w) whose top-left is frame pixel ``origin``:
    the palm's convex hull and every bone drawn ``bone_width`` x the palm's length (wrist to
    middle-finger knuckle) thick, plus ``forearm`` x that length of wrist beyond joint 0,
    grown by ``grow`` x that length (fingers are wider than their joints' line, and the
    joints are estimates)."""
    pts = np.asarray(landmarks, np.float64)[:, :2] - np.asarray(origin, np.float64)
    palm = float(np.linalg.norm(pts[0] - pts[9]))
    p = np.round(pts).astype(np.int32)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(p[list(PALM)]), 255)
    width = max(2, int(round(bone_width * palm)))
    for a, b in BONES:
        cv2.line(mask, (int(p[a, 0]), int(p[a, 1])), (int(p[b, 0]), int(p[b, 1])), 255, width)
    # the wrist and the start of the forearm: no joint marks them, and the dataset shows them
    arm = np.round(pts[0] + forearm * (pts[0] - pts[9])).astype(np.int32)
    cv2.line(mask, (int(p[0, 0]), int(p[0, 1])), (int(arm[0]), int(arm[1])), 255,
             max(2, int(round(0.6 * palm))))
    r = max(1, int(round(grow * palm)))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))


def black_outside_hand(frame: np.ndarray, landmarks: np.ndarray,
                       box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """``frame`` (or only its ``box`` crop, a copy) with everything but the hand black.

    The training photos are hands on black and the ``real`` recipe puts black among its
    backgrounds: blacking out the room around the landmarks makes a cluttered frame look like
    that (an unseen signer's hands in cluttered scenes: 60.7 -> 80.8 %, on black 82.9 -> 87.0 %,
    with the mask in training too; docs/real_world.md). Only for hands found by the landmark
    model; skin-colour and fixed boxes are passed through.
    """
    if box is None:
        x0, y0, x1, y1 = 0, 0, frame.shape[1], frame.shape[0]
    else:
        x0, y0, x1, y1 = box
    crop = frame[y0:y1, x0:x1]
    mask = hand_mask(landmarks, crop.shape[:2], (x0, y0))
    return cv2.bitwise_and(crop, crop, mask=mask)


class Localizer(Protocol):
    name: str

    def locate(self, frame: np.ndarray) -> Located | None:
        """The hand's box in ``frame`` (BGR, or gray), or None when this method finds none."""

    def reset(self) -> None:
        """Forget what earlier frames said (a new, unrelated image follows)."""


def square_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int,
               margin: float = 0.0) -> Box:
    """The square around a box, widened by ``margin`` of its long side, moved inside the frame.

    Like ``Roi.box``: the side is a multiple of 28 (the nearest one, when at least 28) and at
    most the frame's shorter side, so the crop is never padded and the resize takes its fast
    path.
    """
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    limit = min(width, height)
    side = int(round(min(max(max(x1 - x0, y1 - y0) * (1.0 + margin), 1.0), limit)))
    if side >= MODEL_SIZE:
        side = min(int(round(side / MODEL_SIZE)) * MODEL_SIZE, limit - limit % MODEL_SIZE)
    side = max(side, 1)
    bx = int(round(cx - side / 2.0))
    by = int(round(cy - side / 2.0))
    bx = min(max(0, bx), width - side)
    by = min(max(0, by), height - side)
    return bx, by, bx + side, by + side


class FixedLocalizer:
    """The fixed box: always 'found'."""

    name = "fixed"

    def __init__(self, roi: Roi = Roi()):
        self.roi = roi

    def locate(self, frame: np.ndarray) -> Located:
        h, w = frame.shape[:2]
        return Located(self.roi.box(w, h), "fixed", 0.0)

    def reset(self) -> None:
        pass


class SkinLocalizer:
    """Skin colour (YCrCb thresholds), opened and closed, largest blob: a classical fallback.

    Works for a hand in front of a background that is not skin-coloured; faces, wood and warm
    light fool it. Runs on a copy of the frame scaled to ``work_width`` pixels (~0.3 ms).
    """

    name = "skin"

    def __init__(self, margin: float = 0.2, work_width: int = 160, min_area: float = 0.01,
                 cr: tuple[int, int] = (135, 180), cb: tuple[int, int] = (80, 130)):
        self.margin, self.work_width, self.min_area = margin, work_width, min_area
        self.lo = np.array([0, cr[0], cb[0]], np.uint8)
        self.hi = np.array([255, cr[1], cb[1]], np.uint8)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def mask(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Skin mask of the frame at working size, and the working/frame scale."""
        h, w = frame.shape[:2]
        s = min(1.0, self.work_width / w)
        small = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA) if s < 1.0 else frame
        if small.ndim == 2 or small.shape[2] == 1:
            return np.zeros(small.shape[:2], np.uint8), s  # no colour, no skin
        ycrcb = cv2.cvtColor(np.ascontiguousarray(small[:, :, :3]), cv2.COLOR_BGR2YCrCb)
        m = cv2.inRange(ycrcb, self.lo, self.hi)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, self._kernel)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, self._kernel, iterations=2)
        return m, s

    def locate(self, frame: np.ndarray) -> Located | None:
        h, w = frame.shape[:2]
        m, s = self.mask(frame)
        n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if n <= 1:
            return None
        i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < self.min_area * m.size:
            return None
        box = square_box(x / s, y / s, (x + bw) / s, (y + bh) / s, w, h, self.margin)
        return Located(box, "skin", float(area) / m.size)

    def reset(self) -> None:
        pass


# ---- MediaPipe palm detection + hand landmarks on ONNX Runtime ------------------------------

def ssd_anchors(input_size: int = 192, strides=(8, 16, 16, 16)) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] of MediaPipe's 192x192 palm detector.

    Its SsdAnchorsCalculator options: 4 layers, strides 8/16/16/16, aspect ratio 1 plus the
    interpolated one (2 anchors per layer and cell), fixed anchor size (width = height = 1), so
    only centres matter; layers of equal stride share one grid: 24x24x2 + 12x12x6 = 2016.
    """
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        cells = math.ceil(input_size / strides[i])
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], -1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Palm:
    """A palm detection in frame pixels: box centre and size, 7 keypoints, score."""

    cx: float
    cy: float
    w: float
    h: float
    keypoints: np.ndarray  # (7, 2): wrist centre, index/middle/ring/pinky MCP ... thumb
    score: float


@dataclass
class HandRegion:
    """A rotated square in frame pixels: what the landmark model looks at."""

    cx: float
    cy: float
    side: float
    rotation: float  # radians, clockwise in image coordinates; 0 = fingers up


def _normalize_radians(a: float) -> float:
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3,
                 max_out: int = 4) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-maximum suppression on (N, 4+) rows of cx, cy, w, h, ...

    Takes the best remaining detection, averages it with every detection overlapping it by more
    than ``iou_threshold`` (IoU), weighted by score, and keeps the best one's score.
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    x0 = boxes[:, 0] - boxes[:, 2] / 2
    y0 = boxes[:, 1] - boxes[:, 3] / 2
    x1 = boxes[:, 0] + boxes[:, 2] / 2
    y1 = boxes[:, 1] + boxes[:, 3] / 2
    area = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    alive = np.ones(len(boxes), bool)
    out = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        ix0 = np.maximum(x0[i], x0)
        iy0 = np.maximum(y0[i], y0)
        ix1 = np.minimum(x1[i], x1)
        iy1 = np.minimum(y1[i], y1)
        inter = np.maximum(ix1 - ix0, 0) * np.maximum(iy1 - iy0, 0)
        iou = inter / np.maximum(area[i] + area - inter, 1e-12)
        group = alive & (iou > iou_threshold)
        group[i] = True
        w = scores[group]
        out.append(((boxes[group] * w[:, None]).sum(0) / w.sum(), float(scores[i])))
        alive &= ~group
        if len(out) >= max_out:
            break
    return out


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """INTER_AREA downscale, halving first while the image is twice the target or more: the
    exact halves take OpenCV's fast path (640x480 -> 192x144: 0.45 instead of 1.0 ms, and
    the palm detector finds as many hands; plain INTER_LINEAR found 11 % fewer in scenes)."""
    h, w = image.shape[:2]
    while w >= 2 * width and h >= 2 * height:
        image = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


class _Session:
    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        if threads > 1:
            # the palm and landmark sessions run one after the other; idle pool threads that
            # spin starve the other session's (measured, 2 cores: palm 10.6 ms spinning vs
            # 7.5 ms not, landmarks 4.2 vs 3.0 ms)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise AslEdgeError(f"{path}: not a loadable ONNX model ({first})") from None
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        self.size = int(inp.shape[1])
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.outputs, {self.input: x})


class HandLandmarkLocalizer:
    """MediaPipe Hands on ONNX Runtime: palm detection -> landmarks -> square box.

    ``pad``: when the palm detector finds nothing in the frame as it is, it looks again with a
    black border of ``pad`` x the frame's long side on every side: a hand that fills the frame
    (a tight crop) is found far more often with room around it. ``track``: reuse the previous
    frame's landmarks as this frame's hand region (video); the palm detector runs only when the
    landmark model says the hand is gone.
    """

    name = "hands"

    def __init__(self, model_dir: str | Path | None = None, variant: str = "lite",
                 margin: float = 0.25, track: bool = False, threads: int = 1,
                 palm_threshold: float = 0.5, presence_threshold: float = 0.5,
                 pad: float = 0.25):
        model_dir = Path(model_dir) if model_dir else HANDS_DIR
        palm = model_dir / f"palm_detection_{variant}.onnx"
        marks = model_dir / f"hand_landmark_{variant}.onnx"
        missing = [p.name for p in (palm, marks) if not p.is_file()]
        if missing:
            raise AslEdgeError(f"hand models {', '.join(missing)} not found in {model_dir}; "
                               "run scripts/convert_hand_models.py")
        self.palm = _Session(palm, threads)
        self.marks = _Session(marks, threads)
        self.anchors = ssd_anchors(self.palm.size)
        self.margin, self.track, self.pad = margin, track, pad
        self.palm_threshold, self.presence_threshold = palm_threshold, presence_threshold
        self._region: HandRegion | None = None
        self.palm_runs = 0  # how often the detector ran (the rest was tracking)

    def reset(self) -> None:
        self._region = None

    # -- palm detection ------------------------------------------------------------------
    def detect_palms(self, rgb: np.ndarray, pad: float = 0.0) -> list[Palm]:
        """Palms in an RGB frame, letterboxed (and padded by ``pad``) into the 192x192 input."""
        h, w = rgb.shape[:2]
        size = self.palm.size
        side = max(h, w) * (1.0 + 2.0 * pad)
        s = size / side
        nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
        canvas = np.zeros((size, size, 3), np.float32)
        ox, oy = (size - nw) // 2, (size - nh) // 2
        small = shrink(rgb, nw, nh)
        np.multiply(small, np.float32(1.0 / 255.0), out=canvas[oy:oy + nh, ox:ox + nw],
                    casting="unsafe")
        raw, logits = self.palm.run(canvas[None])
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[0, :, 0], -100.0, 100.0)))
        keep = np.flatnonzero(scores >= self.palm_threshold)
        if len(keep) == 0:
            return []
        r = raw[0, keep].astype(np.float64) / size
        a = self.anchors[keep].astype(np.float64)
        dec = r.copy()
        dec[:, 0] += a[:, 0]
        dec[:, 1] += a[:, 1]
        dec[:, 4::2] += a[:, :1]
        dec[:, 5::2] += a[:, 1:2]
        palms = []
        for row, score in weighted_nms(dec, scores[keep]):
            # letterbox canvas [0, 1] -> frame pixels
            px = row[0::2] * size
            py = row[1::2] * size
            fx, fy = (px - ox) / s, (py - oy) / s
            palms.append(Palm(cx=fx[0], cy=fy[0], w=row[2] * size / s, h=row[3] * size / s,
                              keypoints=np.stack([fx[2:], fy[2:]], -1), score=score))
        return palms

    @staticmethod
    def region_from_palm(p: Palm) -> HandRegion:
        """MediaPipe's palm -> hand region: rotate wrist->middle MCP upright, shift towards the
        fingers by half the palm, square, scale 2.6."""
        (x0, y0), (x2, y2) = p.keypoints[0], p.keypoints[2]
        rot = _normalize_radians(math.pi / 2 - math.atan2(-(y2 - y0), x2 - x0))
        shift = -0.5 * p.h
        cx = p.cx - shift * math.sin(rot)
        cy = p.cy + shift * math.cos(rot)
        return HandRegion(cx, cy, max(p.w, p.h) * 2.6, rot)

    @staticmethod
    def region_from_landmarks(lm: np.ndarray) -> HandRegion:
        """MediaPipe's landmarks -> next region: rotation from the wrist to the mean of the
        index/middle/ring PIP joints, box of the landmarks in that frame, scale 2, shift -0.1."""
        x0, y0 = lm[0]
        mid = ((lm[6] + lm[10] + lm[14]) / 3.0 + lm[9]) / 2.0  # PIPs, with the middle MCP
        rot = _normalize_radians(math.pi / 2 - math.atan2(-(mid[1] - y0), mid[0] - x0))
        c, s = math.cos(-rot), math.sin(-rot)
        centre = (lm.min(0) + lm.max(0)) / 2.0
        d = lm - centre
        px = d[:, 0] * c - d[:, 1] * s
        py = d[:, 0] * s + d[:, 1] * c
        pcx, pcy = (px.max() + px.min()) / 2.0, (py.max() + py.min()) / 2.0
        bw, bh = px.max() - px.min(), py.max() - py.min()
        cr, sr = math.cos(rot), math.sin(rot)
        cx = centre[0] + pcx * cr - pcy * sr
        cy = centre[1] + pcx * sr + pcy * cr
        shift = -0.1 * bh
        cx -= shift * sr
        cy += shift * cr
        return HandRegion(cx, cy, max(bw, bh) * 2.0, rot)

    # -- landmarks -------------------------------------------------------------------------
    def landmarks(self, rgb: np.ndarray, region: HandRegion) -> tuple[np.ndarray, float]:
        """21 (x, y) joints in frame pixels and the hand-presence score, for a region."""
        size = self.marks.size
        c, s = math.cos(region.rotation), math.sin(region.rotation)
        k = region.side / size
        # output pixel (u, v) -> frame: centre + R * ((u, v) * k - side / 2)
        m = np.array([[c * k, -s * k, region.cx - (c - s) * region.side / 2.0],
                      [s * k, c * k, region.cy - (s + c) * region.side / 2.0]], np.float64)
        crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = crop.astype(np.float32)[None] * np.float32(1.0 / 255.0)
        lm, presence = self.marks.run(x)[:2]
        uv = lm.reshape(21, 3)[:, :2].astype(np.float64)
        pts = np.empty_like(uv)
        pts[:, 0] = m[0, 0] * uv[:, 0] + m[0, 1] * uv[:, 1] + m[0, 2]
        pts[:, 1] = m[1, 0] * uv[:, 0] + m[1, 1] * uv[:, 1] + m[1, 2]
        return pts, float(presence.ravel()[0])

    def _box(self, pts: np.ndarray, w: int, h: int) -> Box:
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        return square_box(x0, y0, x1, y1, w, h, self.margin)

    def locate(self, frame: np.ndarray) -> Located | None:
        h, w = frame.shape[:2]
        rgb = _to_rgb(frame)
        if self.track and self._region is not None:
            pts, presence = self.landmarks(rgb, self._region)
            if presence >= self.presence_threshold:
                self._region = self.region_from_landmarks(pts)
                return Located(self._box(pts, w, h), "landmarks", presence, pts)
            self._region = None
        self.palm_runs += 1
        palms = self.detect_palms(rgb)
        if not palms and self.pad > 0:
            self.palm_runs += 1
            palms = self.detect_palms(rgb, self.pad)
        for palm in palms[:2]:
            pts, presence = self.landmarks(rgb, self.region_from_palm(palm))
            if presence >= self.presence_threshold:
                self._region = self.region_from_landmarks(pts) if self.track else None
                return Located(self._box(pts, w, h), "landmarks", presence, pts)
        return None


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


class ChainLocalizer:
    """Try localisers in order; the last one (the fixed box) always answers."""

    def __init__(self, chain: list, fallback: FixedLocalizer):
        self.chain, self.fallback = chain, fallback
        self.name = "+".join([c.name for c in chain] + ["fixed"])
        self.counts: dict[str, int] = {}

    def locate(self, frame: np.ndarray) -> Located:
        for loc in self.chain:
            found = loc.locate(frame)
            if found is not None:
                break
        else:
            found = self.fallback.locate(frame)
        self.counts[found.method] = self.counts.get(found.method, 0) + 1
        return found

    def reset(self) -> None:
        for loc in self.chain:
            loc.reset()

    @property
    def roi(self) -> Roi:
        return self.fallback.roi


def default_hand_threads() -> int:
    """Two threads where there are two cores: palm detection 8.9 -> 7.5 ms, landmarks
    4.2 -> 3.0 ms on this project's 2-core machine (spinning off, see _Session)."""
    import os

    return min(2, os.cpu_count() or 1)


def make_localizer(spec: str | Roi = "center", track: bool = False, margin: float | None = None,
                   model_dir: str | Path | None = None, variant: str = "lite",
                   threads: int | None = None) -> ChainLocalizer:
    """``center`` or ``cx,cy,size`` (the fixed box), ``auto`` (hands, then skin, then the
    fixed box), ``hands`` or ``skin`` (that method, then the fixed box). ``threads`` for the
    hand models: default :func:`default_hand_threads`."""
    threads = default_hand_threads() if threads is None else threads
    if threads < 1:
        raise AslEdgeError(f"hand-model threads must be at least 1, not {threads}")
    if isinstance(spec, Roi):
        return ChainLocalizer([], FixedLocalizer(spec))
    if spec not in ("auto", "hands", "skin"):
        try:
            return ChainLocalizer([], FixedLocalizer(Roi.parse(spec)))
        except ValueError as e:
            raise AslEdgeError(f"{e}; --roi also takes auto, hands, skin") from None
    chain: list = []
    if spec in ("auto", "hands"):
        try:
            chain.append(HandLandmarkLocalizer(model_dir, variant, track=track, threads=threads,
                                               **({"margin": margin} if margin is not None
                                                  else {})))
        except AslEdgeError as e:
            if spec == "hands":
                raise
            log.warning("hand models unavailable (%s): --roi auto uses the skin-colour "
                        "method", e)
    if spec in ("auto", "skin"):
        chain.append(SkinLocalizer(**({"margin": margin} if margin is not None else {})))
    return ChainLocalizer(chain, FixedLocalizer(Roi()))
