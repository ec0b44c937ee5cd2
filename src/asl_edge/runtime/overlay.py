"""Drawing the result on the frame: ROI box, letter, confidence bar, FPS."""

from __future__ import annotations

import cv2
import numpy as np

GREEN, AMBER, WHITE, BLACK = (60, 200, 60), (0, 170, 255), (255, 255, 255), (0, 0, 0)


def draw(frame: np.ndarray, box: tuple[int, int, int, int], letter: str | None,
         confidence: float, fps: float | None = None, truth: str | None = None) -> np.ndarray:
    """Annotate ``frame`` (BGR uint8) in place and return it."""
    x0, y0, x1, y1 = box
    color = GREEN if letter else AMBER
    h, w = frame.shape[:2]
    text = letter if letter else "no sign"
    scale = max(0.6, h / 320)
    cv2.rectangle(frame, (0, 0), (w, int(52 * scale / 1.5) + 8), BLACK, -1)
    cv2.rectangle(frame, (x0, y0), (x1 - 1, y1 - 1), color, 2)  # after the header: stays whole
    cv2.putText(frame, text, (10, int(40 * scale / 1.5)), cv2.FONT_HERSHEY_SIMPLEX,
                scale * (1.2 if letter else 0.8), color, 2, cv2.LINE_AA)
    # confidence bar
    bx0, by0, bw, bh = int(w * 0.35), int(14 * scale / 1.5), int(w * 0.4), int(16 * scale / 1.5)
    cv2.rectangle(frame, (bx0, by0), (bx0 + bw, by0 + bh), WHITE, 1)
    cv2.rectangle(frame, (bx0, by0), (bx0 + int(bw * min(max(confidence, 0), 1)), by0 + bh),
                  color, -1)
    cv2.putText(frame, f"{100 * confidence:.0f}%", (bx0 + bw + 6, by0 + bh),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale / 1.5 + 0.1, WHITE, 1, cv2.LINE_AA)
    footer = []
    if fps:
        footer.append(f"{fps:.0f} FPS")
    if truth:
        footer.append(f"truth {truth}")
    if footer:
        cv2.putText(frame, "  ".join(footer), (10, h - 10), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * scale / 1.5 + 0.1, WHITE, 1, cv2.LINE_AA)
    return frame
