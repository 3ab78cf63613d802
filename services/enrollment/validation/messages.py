"""The message catalogue: problem code → (Bahasa Indonesia, English) text templates.

Templates use ``str.format`` fields filled from the problem's ``params``. A param whose name
ends in ``positions`` is a list of finger positions or eyes and is spelled out in each
language ("ibu jari kanan, telunjuk kiri" / "right thumb, left index finger"); a param ``sites``
is the dinas's sites, named as ``shared.sites.served`` names them.
Codes listed in ``WARNINGS`` are warnings by default; all others are errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.errors import FIELD_MESSAGES
from shared.sites import served

from .problems import Problem, Severity

CATALOGUE: dict[str, tuple[str, str]] = {
    # --- NIK and KK ---
    "nik.format": ("NIK harus 16 angka.", "NIK must be 16 digits."),
    "nik.date_invalid": (
        "Bagian tanggal lahir NIK ({date_part}) bukan tanggal yang sah.",
        "The birth-date part of the NIK ({date_part}) is not a valid date.",
    ),
    "nik.serial_zero": ("Nomor urut NIK tidak boleh 0000.", "The NIK serial must not be 0000."),
    "nik.unknown_province": (
        "Kode provinsi {code} pada NIK tidak dikenal.",
        "Province code {code} in the NIK is not known.",
    ),
    "nik.unknown_regency": (
        "Kode kabupaten/kota {code} pada NIK tidak dikenal.",
        "Regency/city code {code} in the NIK is not known.",
    ),
    "nik.unknown_district": (
        "Kode kecamatan {code} pada NIK tidak ada di tabel wilayah saat ini (NIK lama tetap memakai kodenya); periksa kembali.",
        "Kecamatan code {code} in the NIK is not in the current region table (old NIKs keep their code); please double-check.",
    ),
    "nik.birth_date_mismatch": (
        "Tanggal lahir {birth_date} tidak sesuai dengan NIK (tertulis {nik_date}).",
        "Birth date {birth_date} does not match the NIK (which says {nik_date}).",
    ),
    "nik.sex_mismatch": (
        "Jenis kelamin {sex} tidak sesuai dengan NIK (tanggal pada NIK untuk perempuan ditambah 40).",
        "Sex {sex} does not match the NIK (women's NIK day is the birth day plus 40).",
    ),
    "kk.format": ("Nomor KK harus 16 angka.", "The family card (KK) number must be 16 digits."),
    "kk.date_invalid": (
        "Bagian tanggal penerbitan nomor KK ({date_part}) bukan tanggal yang sah.",
        "The date-of-issue part of the KK number ({date_part}) is not a valid date.",
    ),
    "kk.serial_zero": ("Nomor urut KK tidak boleh 0000.", "The KK serial must not be 0000."),
    "kk.unknown_region": (
        "Kode wilayah {code} pada nomor KK tidak dikenal.",
        "Region code {code} in the KK number is not known.",
    ),
    # --- name and other printed text ---
    "name.empty": ("Nama wajib diisi.", "The name is required."),
    "name.too_long": (
        "Nama terlalu panjang: {length} karakter, maksimal {max} termasuk spasi.",
        "The name is too long: {length} characters, at most {max} including spaces.",
    ),
    "name.digits": ("Nama tidak boleh mengandung angka.", "The name must not contain digits."),
    "name.invalid_chars": (
        "Nama mengandung karakter yang tidak diizinkan: {chars}. Hanya huruf A-Z, spasi, titik, koma, tanda petik (') dan tanda hubung (-).",
        "The name contains characters that are not allowed: {chars}. Only letters A-Z, space, dot, comma, apostrophe (') and hyphen (-).",
    ),
    "name.no_letters": ("Nama harus mengandung huruf.", "The name must contain letters."),
    "name.single_word": (
        "Nama hanya satu kata; nama baru minimal dua kata. Diterima untuk data lama, mohon dipastikan.",
        "The name is a single word; new names need at least two words. Accepted for old records, please confirm.",
    ),
    "text.empty": ("{label} wajib diisi.", "{label_en} is required."),
    "text.too_long": (
        "{label} terlalu panjang untuk kartu: {length} karakter, maksimal {max}.",
        "{label_en} is too long for the card: {length} characters, at most {max}.",
    ),
    "text.too_wide": (
        "{label} tidak muat di tempatnya pada kartu (huruf lebar seperti W dan M butuh lebih banyak ruang): "
        "singkat atau tulis dengan singkatan baku (mis. KAB., JL.).",
        "{label_en} does not fit its place on the card (wide letters such as W and M take more room): "
        "shorten it or use the standard abbreviations (e.g. KAB., JL.).",
    ),
    "text.invalid_chars": (
        "{label} mengandung karakter yang tidak bisa dicetak: {chars}.",
        "{label_en} contains characters that cannot be printed: {chars}.",
    ),
    # --- address and sites ---
    "address.rt_rw_format": (
        "{label} harus 1 sampai 3 angka (contoh 003).",
        "{label} must be 1 to 3 digits (for example 003).",
    ),
    "address.village_format": (
        "Kode kelurahan/desa harus berbentuk PP.KK.CC.NNNN (contoh 53.71.04.1001).",
        "The village code must look like PP.KK.CC.NNNN (for example 53.71.04.1001).",
    ),
    "address.village_unknown": (
        "Kode kelurahan/desa {code} tidak dikenal.",
        "Village code {code} is not known.",
    ),
    "address.village_district_unknown": (
        "Kecamatan {code} dari kelurahan/desa ini tidak dikenal.",
        "The kecamatan {code} of this village is not known.",
    ),
    "site.unknown": (
        "Kode lokasi {code} tidak dikenal; gunakan kode kabupaten/kota (PP.KK) atau kecamatan (PP.KK.CC).",
        "Site code {code} is not known; use a regency/city (PP.KK) or kecamatan (PP.KK.CC) code.",
    ),
    "pickup_site.not_served": (
        "Lokasi pengambilan {code} tidak dilayani di sini: kartu hanya dicetak dan diambil di {sites}.",
        "Pickup site {code} is not served here: cards are printed and collected only at {sites}.",
    ),
    # --- personal data ---
    "blood_type.invalid": (
        "Golongan darah harus A, B, AB atau O (boleh diikuti + atau -), atau \"-\" bila tidak diketahui.",
        "Blood type must be A, B, AB or O (optionally followed by + or -), or \"-\" if unknown.",
    ),
    "birth_date.future": ("Tanggal lahir {birth_date} belum terjadi.", "Birth date {birth_date} is in the future."),
    "birth_date.implausible": (
        "Usia {age} tahun tidak lazim; mohon periksa tanggal lahir.",
        "An age of {age} years is unusual; please check the birth date.",
    ),
    "card_age.too_young": (
        "Belum wajib KTP-el: usia {age} tahun dan belum kawin (minimal 17 tahun atau sudah/pernah kawin).",
        "Not yet of card age: {age} years old and never married (17 or older, or married).",
    ),
    "recording.future_time": (
        "Waktu perekaman {recorded_at} ada di masa depan; periksa jam stasiun.",
        "Recording time {recorded_at} is in the future; check the station clock.",
    ),
    "recording.naive_time": (
        "Waktu perekaman harus menyertakan zona waktu (contoh +08:00 WITA).",
        "The recording time must include a time zone (for example +08:00 WITA).",
    ),
    # --- photo and signature ---
    "base64.invalid": ("Data bukan base64 yang sah.", "The data is not valid base64."),
    "photo.not_jpeg": ("Foto harus berupa JPEG.", "The photo must be a JPEG."),
    "photo.too_small": (
        "Foto terlalu kecil: {width}x{height} piksel, minimal {min_width}x{min_height}.",
        "The photo is too small: {width}x{height} px, at least {min_width}x{min_height}.",
    ),
    "photo.not_portrait": (
        "Foto harus tegak (tinggi lebih besar dari lebar): {width}x{height} piksel.",
        "The photo must be portrait (taller than wide): {width}x{height} px.",
    ),
    "photo.too_large": (
        "Berkas foto terlalu besar: {size} byte, maksimal {max} byte.",
        "The photo file is too large: {size} bytes, at most {max} bytes.",
    ),
    "photo.dimensions_too_large": (
        "Ukuran foto terlalu besar: {width}x{height} piksel, maksimal {max} piksel per sisi.",
        "The photo dimensions are too large: {width}x{height} px, at most {max} px per side.",
    ),
    "signature.invalid_format": (
        "Tanda tangan harus berupa gambar PNG atau JPEG.",
        "The signature must be a PNG or JPEG image.",
    ),
    "signature.too_large": (
        "Berkas tanda tangan terlalu besar: {size} byte, maksimal {max} byte.",
        "The signature file is too large: {size} bytes, at most {max} bytes.",
    ),
    # --- templates ---
    "template.unknown_format": (
        "Format templat {format} versi {version} tidak dikenal; yang dikenal: {known}.",
        "Template format {format} version {version} is not known; known: {known}.",
    ),
    "template.size": (
        "Ukuran templat salah: {size} byte, seharusnya {expected} byte untuk {format} v{version}.",
        "Wrong template size: {size} bytes, expected {expected} bytes for {format} v{version}.",
    ),
    "template.not_finite": (
        "Templat berisi nilai yang tidak sah (NaN/tak hingga).",
        "The template contains invalid values (NaN/infinity).",
    ),
    "template.zero_vector": ("Templat kosong (semua nol).", "The template is empty (all zeros)."),
    "template.low_quality": (
        "Kualitas {quality} di bawah batas {min}: tidak dapat dipakai untuk penunggalan.",
        "Quality {quality} is below the minimum of {min}: not usable for de-duplication.",
    ),
    "iris.mask_insufficient": (
        "Hanya {percent}% bit iris yang dapat dipakai (minimal {min}%).",
        "Only {percent}% of the iris bits are usable (at least {min}%).",
    ),
    # --- biometric completeness ---
    "fingerprints.duplicate_position": (
        "Sidik jari {positions} direkam lebih dari sekali.",
        "Fingerprint {positions} is recorded more than once.",
    ),
    "irises.duplicate_eye": ("Iris {positions} direkam lebih dari sekali.", "Iris of the {positions} is recorded more than once."),
    "exceptions.duplicate": (
        "Pengecualian untuk {positions} dicatat lebih dari sekali.",
        "The exception for {positions} is recorded more than once.",
    ),
    "biometrics.template_and_exception": (
        "{positions} punya templat sekaligus pengecualian; pilih salah satu.",
        "{positions} has both a template and an exception; keep only one.",
    ),
    "fingerprints.missing": (
        "Sidik jari belum direkam dan tidak ada pengecualian: {positions}.",
        "Fingerprints neither recorded nor excepted: {positions}.",
    ),
    "irises.missing": (
        "Iris belum direkam dan tidak ada pengecualian: {positions}.",
        "Irises neither recorded nor excepted: {positions}.",
    ),
    "biometrics.recapture_required": (
        "Rekam ulang sekarang: {positions}. {reason_id}",
        "Re-capture now: {positions}. {reason_en}",
    ),
    "biometrics.few_capturable": (
        "Hanya {count} biometrik sidik jari/iris yang dapat direkam karena pengecualian; penunggalan akan bergantung pada wajah.",
        "Only {count} fingerprint/iris biometrics can be captured because of exceptions; de-duplication will rely on the face.",
    ),
    # --- corrections (previous_enrollment_id): refused with 404/409, not 422 ---
    "previous_enrollment.not_found": (
        "Rekaman sebelumnya {previous_id} tidak ditemukan.",
        "Previous enrollment {previous_id} was not found.",
    ),
    "previous_enrollment.not_correctable": (
        "Rekaman sebelumnya berstatus {status}: hanya ENROLL_FAILURE (rekam ulang) atau PRINTED/ISSUED "
        "(kartu pengganti) yang dapat dikoreksi.",
        "The previous enrollment is {status}: only ENROLL_FAILURE (re-capture) or PRINTED/ISSUED "
        "(replacement) records can be corrected.",
    ),
    "previous_enrollment.other_nik": (
        "Koreksi harus memakai NIK yang sama dengan rekaman sebelumnya.",
        "A correction keeps the NIK of the previous enrollment.",
    ),
    "previous_enrollment.superseded": (
        "Rekaman sebelumnya sudah dikoreksi oleh {next_id}: rujuk rekaman terbaru.",
        "The previous enrollment was already corrected by {next_id}: link to the newest record.",
    ),
    # structural codes (field.*) come from shared.errors.FIELD_MESSAGES, below
}
CATALOGUE.update(FIELD_MESSAGES)

WARNINGS = frozenset(
    {"nik.unknown_district", "name.single_word", "birth_date.implausible", "template.low_quality",
     "biometrics.few_capturable"}
)

BIOMETRIC_NAMES: dict[str, tuple[str, str]] = {
    "RIGHT_THUMB": ("ibu jari kanan", "right thumb"),
    "RIGHT_INDEX": ("telunjuk kanan", "right index finger"),
    "RIGHT_MIDDLE": ("jari tengah kanan", "right middle finger"),
    "RIGHT_RING": ("jari manis kanan", "right ring finger"),
    "RIGHT_LITTLE": ("kelingking kanan", "right little finger"),
    "LEFT_THUMB": ("ibu jari kiri", "left thumb"),
    "LEFT_INDEX": ("telunjuk kiri", "left index finger"),
    "LEFT_MIDDLE": ("jari tengah kiri", "left middle finger"),
    "LEFT_RING": ("jari manis kiri", "left ring finger"),
    "LEFT_LITTLE": ("kelingking kiri", "left little finger"),
    "RIGHT": ("mata kanan", "right eye"),
    "LEFT": ("mata kiri", "left eye"),
    "FACE": ("wajah", "face"),
}


def _spell(value: Any, lang: int) -> str:
    items = [value] if isinstance(value, str) else list(value)
    return ", ".join(BIOMETRIC_NAMES.get(str(v), (str(v), str(v)))[lang] for v in items)


def _value(name: str, value: Any, lang: int) -> Any:
    if name.endswith("positions"):
        return _spell(value, lang)
    return served(value)[lang] if name == "sites" else value


def render(code: str, /, **params: Any) -> tuple[str, str]:
    """(Indonesian, English) text of ``code``; KeyError for a code not in the catalogue."""
    templates = CATALOGUE[code]
    out = []
    for lang, template in enumerate(templates):
        out.append(template.format(**{k: _value(k, v, lang) for k, v in params.items()}))
    return out[0], out[1]


def problem(field: str, code: str, severity: Severity | None = None, /, **params: Any) -> Problem:
    """Build a :class:`Problem` with its messages from the catalogue."""
    message_id, message_en = render(code, **params)
    return Problem(
        field=field,
        code=code,
        severity=severity or ("warning" if code in WARNINGS else "error"),
        message_id=message_id,
        message_en=message_en,
        params={k: (list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v) for k, v in params.items()},
    )
