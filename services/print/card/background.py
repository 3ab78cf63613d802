"""The card's security-print look, drawn with shapes only: a blue tint and guilloche lines."""

from __future__ import annotations

import math

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from shared.card.layout import CARD_H_MM, CARD_W_MM

W, H = CARD_W_MM * mm, CARD_H_MM * mm

_TINT = [Color(0.72, 0.84, 0.95), Color(0.90, 0.95, 0.99), Color(0.97, 0.96, 0.93), Color(0.78, 0.88, 0.96)]


def front(c: Canvas) -> None:
    _gradient(c)
    _waves(c, Color(0.45, 0.65, 0.88, alpha=0.35), rows=9, amp=1.6 * mm, period=17 * mm, y0=4 * mm)
    _rosette(c, 36 * mm, 24 * mm, 19 * mm, Color(0.40, 0.60, 0.85, alpha=0.22))
    _rosette(c, 73 * mm, 24 * mm, 14 * mm, Color(0.85, 0.55, 0.55, alpha=0.15))
    # a darker band behind the header, like the printed title bar of the card
    c.saveState()
    c.setFillColor(Color(0.55, 0.72, 0.90, alpha=0.35))
    c.rect(0, H - 9.4 * mm, W, 9.4 * mm, stroke=0, fill=1)
    c.restoreState()


def back(c: Canvas) -> None:
    _gradient(c)
    _waves(c, Color(0.45, 0.65, 0.88, alpha=0.30), rows=12, amp=1.2 * mm, period=12 * mm, y0=3 * mm)
    _rosette(c, 30 * mm, 26 * mm, 16 * mm, Color(0.40, 0.60, 0.85, alpha=0.20))
    c.saveState()
    c.setStrokeColor(Color(0.25, 0.40, 0.65))
    c.setLineWidth(0.4)
    c.line(5 * mm, H - 12.6 * mm, W - 5 * mm, H - 12.6 * mm)
    c.restoreState()


def _gradient(c: Canvas) -> None:
    c.saveState()
    p = c.beginPath()
    p.rect(0, 0, W, H)
    c.clipPath(p, stroke=0, fill=0)
    c.linearGradient(0, H, W, 0, _TINT, positions=[0, 0.45, 0.7, 1], extend=True)
    c.restoreState()


def _waves(c: Canvas, color: Color, *, rows: int, amp: float, period: float, y0: float) -> None:
    """Pairs of phase-shifted sine lines across the card."""
    c.saveState()
    c.setStrokeColor(color)
    c.setLineWidth(0.18)
    step = (H - 2 * y0) / max(rows - 1, 1)
    for r in range(rows):
        for phase in (0.0, math.pi):
            p = c.beginPath()
            base = y0 + r * step
            for i in range(0, 241):
                x = W * i / 240
                y = base + amp * math.sin(2 * math.pi * x / period + phase + r * 0.7)
                p.moveTo(x, y) if i == 0 else p.lineTo(x, y)
            c.drawPath(p, stroke=1, fill=0)
    c.restoreState()


def _rosette(c: Canvas, cx: float, cy: float, r: float, color: Color) -> None:
    """A spirograph-like rosette (a hypotrochoid), the classic guilloche motif."""
    c.saveState()
    c.setStrokeColor(color)
    c.setLineWidth(0.2)
    R, k, d = r, 0.62, 0.55
    p = c.beginPath()
    n = 1400
    for i in range(n + 1):
        t = 2 * math.pi * 13 * i / n
        rr = R * (1 - k)
        x = cx + rr * math.cos(t) + d * R * k * math.cos((1 - k) / k * t)
        y = cy + rr * math.sin(t) - d * R * k * math.sin((1 - k) / k * t)
        p.moveTo(x, y) if i == 0 else p.lineTo(x, y)
    c.drawPath(p, stroke=1, fill=0)
    c.restoreState()
