from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.enrollment.schemas import RecordingIn
from shared.errors import field_path, problems_from_pydantic

from .factories import recording_dict, set_path


def problems_for(data) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        RecordingIn.model_validate(data)
    return {p.field: p.code for p in problems_from_pydantic(exc.value.errors())}


def test_field_path():
    assert field_path(("body", "biometrics", "fingerprints", 3, "template")) == "biometrics.fingerprints[3].template"
    union_member = ("biometrics", "exceptions", 0, "position", "str-enum[Eye]")
    assert field_path(union_member) == "biometrics.exceptions[0].position"
    assert field_path(()) == ""


def test_structural_errors_become_problems():
    data = recording_dict()
    del data["nik"]
    set_path(data, "sex", "L")
    set_path(data, "birth_date", "1990-13-01")
    set_path(data, "biometrics.fingerprints[3].quality", 101)
    set_path(data, "biometrics.fingerprints[4].template", None)
    set_path(data, "recording.station", "S" * 41)
    data["address"]["postcode"] = "85111"
    assert problems_for(data) == {
        "nik": "field.missing",
        "sex": "field.enum",
        "birth_date": "field.date_format",
        "biometrics.fingerprints[3].quality": "field.out_of_range",
        "biometrics.fingerprints[4].template": "field.type",
        "recording.station": "field.too_long",
        "address.postcode": "field.unknown",
    }


def test_union_enum_errors_merge_into_one_problem():
    data = recording_dict()
    data["biometrics"]["exceptions"] = [{"position": "NOSE", "reason": "AMPUTATED"}]
    with pytest.raises(ValidationError) as exc:
        RecordingIn.model_validate(data)
    (p,) = problems_from_pydantic(exc.value.errors())
    assert p.field == "biometrics.exceptions[0].position" and p.code == "field.enum"
    assert "RIGHT_THUMB" in p.message_en and "LEFT" in p.message_id and p.severity == "error"


def test_messages_in_both_languages():
    data = recording_dict()
    data["sex"] = "X"
    (p,) = problems_for_list(data)
    assert p.message_id.startswith("Nilai harus salah satu dari") and "LAKI-LAKI" in p.message_id
    assert p.message_en.startswith("The value must be one of")
    assert " atau " in p.message_id and " or " not in p.message_id and " or " in p.message_en


def test_a_type_is_named_in_each_messages_own_language():
    data = recording_dict()
    data["name"] = 42
    (p,) = problems_for_list(data)
    assert (p.code, p.message_id, p.message_en) == (
        "field.type", "Jenis data salah: seharusnya teks.", "Wrong type: expected text.")


@pytest.mark.parametrize("path", ["station_recording_id", "recording.station", "recording.operator",
                                  "biometrics.fingerprints[0].format"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_identifier_is_refused(path, blank):
    data = recording_dict()
    set_path(data, path, blank)
    assert problems_for(data) == {path: "field.blank"}


def problems_for_list(data):
    with pytest.raises(ValidationError) as exc:
        RecordingIn.model_validate(data)
    return problems_from_pydantic(exc.value.errors())


def test_a_pattern_and_malformed_json_are_told_in_each_messages_own_language():
    from pydantic import BaseModel, Field

    from shared.errors import problems_from_pydantic

    class Site(BaseModel):
        site: str = Field(pattern=r"^\d{2}\.\d{2}(\.\d{2})?$")

    with pytest.raises(ValidationError) as pattern:
        Site(site="53-71")
    [problem] = problems_from_pydantic(pattern.value.errors(), strip=())
    assert (problem.field, problem.code) == ("site", "field.pattern")
    assert problem.message_id.startswith("Format tidak sesuai") and "should" not in problem.message_id
    assert problem.message_en.startswith("Wrong format")

    with pytest.raises(ValidationError) as malformed:
        Site.model_validate_json('{"site": "53.71"')
    errors = [{**e, "loc": ("body", 16)} for e in malformed.value.errors()]  # FastAPI gives the offset
    [problem] = problems_from_pydantic(errors)
    assert "JSON tidak sah pada karakter 16" in problem.message_id and "Invalid JSON" not in problem.message_id
    assert "at character 16" in problem.message_en
