"""The card payload a claimed job carries to its print agent, and the CardData made from it."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from services.print.card.chip import build_chip_record
from services.print.card.data import CardData


def card_data(card: dict[str, Any], *, serial: str, issue_place: str, issue_date: dt.date) -> CardData:
    record = card["record"]
    address = record["address"]
    names = record.get("place_names") or {}
    signature = card.get("signature_png")
    return CardData(
        province=names.get("province", record["nik"][:2]),
        regency=names.get("regency", ""),
        nik=record["nik"],
        name=record["name"],
        birth_place=record["birth_place"],
        birth_date=dt.date.fromisoformat(record["birth_date"]),
        sex=record["sex"],
        blood_type=record["blood_type"],
        street=address["street"],
        rt=address["rt"],
        rw=address["rw"],
        village=names.get("village", address["village_code"]),
        district=names.get("district", ""),
        religion=record["religion"],
        marital_status=record["marital_status"],
        occupation=record["occupation"],
        citizenship=record.get("citizenship", "WNI"),
        photo_jpeg=base64.b64decode(card["photo_jpeg"]),
        issue_place=issue_place,
        issue_date=issue_date,
        serial=serial,
        signature_image=base64.b64decode(signature) if signature else None,
    )


def job_payload(card: dict[str, Any], *, serial: str, issue_place: str, issue_date: dt.date, key: Any) -> dict[str, Any]:
    """What the agent receives: the stored card, where and when it is issued, and the chip record
    signed with the dinas's key (`key` has `.sign()` and `.kid`)."""
    data = card_data(card, serial=serial, issue_place=issue_place, issue_date=issue_date)
    chip = build_chip_record(data, card.get("right_index"), card.get("left_index"), key, key.kid)
    return {**card, "issue_place": issue_place, "issue_date": issue_date.isoformat(),
            "chip_record": base64.b64encode(chip).decode()}
