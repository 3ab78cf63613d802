"""The KTP-el card: the renderer (PDF + PNG) of the layout in shared/card, and the signed chip record."""

from .chip import ChipRecordError, build_chip_record, verify_chip_record
from .data import CardData, card_values
from .render import RenderedCard, RenderedField, render_card

__all__ = [
    "CardData",
    "ChipRecordError",
    "RenderedCard",
    "RenderedField",
    "build_chip_record",
    "card_values",
    "render_card",
    "verify_chip_record",
]
