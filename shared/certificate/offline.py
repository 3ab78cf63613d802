"""Offline verification: a raw token, a photo or scan of the QR code, or the certificate PDF.

Nothing here needs the network: the verifier brings the published public keys (JWKS) and a
clock. A PDF's first page is rasterised at 200 dpi and searched for QR codes like an image.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image, UnidentifiedImageError

from shared.certificate.token import (
    CertificateClaims,
    Reason,
    TokenError,
    VerifiedToken,
    looks_like_token,
    verify_token,
)
from shared.dates import english_date, indonesian_date
from shared.keys import KeySet
from shared.sites import place

# What a verifier at a counter (a bank clerk, a police officer) is told, in Indonesian / English.
VERDICT: dict[Reason, str] = {
    Reason.MALFORMED: "TIDAK SAH: ini bukan kode Surat Keterangan / NOT VALID: this is not a certificate's code",
    Reason.UNKNOWN_KEY: "TIDAK DIKENAL: ditandatangani dengan kunci yang tidak ada dalam daftar kunci Anda: "
                        "palsu, dari Dinas lain, atau daftar kunci Anda sudah lama (unduh lagi) / NOT KNOWN: "
                        "signed with a key not in your key list: forged, another dinas's, or your list is "
                        "out of date (download it again)",
    Reason.BAD_SIGNATURE: "TIDAK SAH: isinya diubah atau tanda tangannya palsu / NOT VALID: its content was "
                          "changed or its signature is forged",
    Reason.EXPIRED: "KEDALUWARSA: asli, tetapi masa berlakunya sudah habis / EXPIRED: genuine, but no longer "
                    "valid",
    Reason.NOT_YET_VALID: "TIDAK SAH: tanggal terbitnya di masa depan; periksa jam perangkat ini / NOT VALID: "
                          "issued in the future; check this device's clock",
    Reason.UNREADABLE: "TIDAK TERBACA: tidak ada kode QR Surat Keterangan; foto lebih dekat dan tajam, atau "
                       "pakai PDF-nya / UNREADABLE: no certificate QR code found; take a closer, sharper photo "
                       "or use the PDF",
}
NOT_CHECKED_OFFLINE = (
    "Tanpa jaringan tidak dapat diperiksa apakah Dinas sudah mencabutnya (KTP-el sudah diserahkan, data\n"
    "ganda, dicabut petugas). Periksa daring di alamat pada kaki Surat Keterangan (.../console/verify).\n"
    "Offline it cannot be checked whether the dinas has revoked it (card handed over, duplicate, revoked\n"
    "by an officer). Check online at the address at the foot of the certificate (.../console/verify)."
)

PDF_DPI = 200
MAX_IMAGE_PIXELS = 60_000_000  # a 200 dpi A3 page is ~10 Mpx; refuse decompression bombs


def extract_token(source: str | bytes | Path | Image.Image) -> str:
    """The token in the QR code of an image (PNG, JPEG, ...) or of page 1 of a PDF.

    `source` is a path, the file's bytes, or an already decoded PIL image (a camera frame).
    Raises `TokenError("unreadable")` when no QR code holding a token is found.
    """
    if isinstance(source, Image.Image):
        image = source
    else:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
        image = render_pdf_page(data) if data.startswith(b"%PDF") else _open_image(data)
    texts = [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    for text in texts:
        token = _token_in(text)
        if token:
            return token
    found = f"{len(texts)} QR code(s), none holding a certificate token" if texts else "no QR code"
    raise TokenError(Reason.UNREADABLE, f"{found} found")


def verify_offline(
    source: str | bytes | Path | Image.Image,
    public_keys: Mapping[str, Ed25519PublicKey] | KeySet,
    *,
    now: dt.datetime | None = None,
) -> VerifiedToken:
    """Verify a raw token (str), a file path (str or Path), file bytes (image or PDF) or an image."""
    if isinstance(source, str) and not _is_file(source):
        if not looks_like_token(source):
            raise TokenError(Reason.MALFORMED, "neither a token nor a readable file")
        token = source.strip()
    elif isinstance(source, bytes) and _is_ascii_token(source):
        token = source.decode("ascii").strip()
    else:
        token = extract_token(source)
    return verify_token(token, public_keys, now=now)


def report(
    source: str | bytes | Path | Image.Image,
    public_keys: Mapping[str, Ed25519PublicKey] | KeySet,
    *,
    now: dt.datetime | None = None,
) -> tuple[bool, str]:
    """`verify_offline` told in words for a verifier: (genuine and in date, the lines to show).

    The first line starts with VALID, EXPIRED or INVALID and the reason code (for scripts), then
    says it in Indonesian and English; the signed data follows whenever the signature held (also
    for an expired certificate), dates as the paper prints them; a genuine certificate ends with
    what offline checking cannot tell: whether it was revoked."""
    try:
        verified = verify_offline(source, public_keys, now=now)
    except TokenError as exc:
        head = "EXPIRED" if exc.reason is Reason.EXPIRED else "INVALID"
        lines = [f"{head} ({exc.reason_code}): {VERDICT[exc.reason]}", f"  ({exc.message})"]
        if exc.claims is not None:
            lines += _claim_lines(exc.claims)
        return False, "\n".join(lines)
    lines = [f"VALID: ASLI, tanda tangan Dinas sah dan masih berlaku / GENUINE, signed by the dinas and in date "
             f"(key {verified.kid})", *_claim_lines(verified.claims),
             "Cocokkan nama dan tanggal lahir dengan orangnya / compare the name and birth date with the person.",
             NOT_CHECKED_OFFLINE]
    return True, "\n".join(lines)


def _claim_lines(c: CertificateClaims) -> list[str]:
    until = c.valid_until
    issuer_id, issuer_en = place(c.issuer)
    issuer = issuer_id if issuer_id == issuer_en else f"{issuer_id} / {issuer_en}"
    return [
        f"  Nomor / number:                       {c.number}",
        f"  Nama / name:                          {c.name}",
        f"  NIK (sebagian / masked):              {c.masked_nik}",
        f"  Tanggal lahir / birth date:           {c.birth_date:%d-%m-%Y}",
        f"  Penerbit / issuer:                    {issuer}",
        f"  Berlaku sampai dengan / valid until:  {indonesian_date(until)} / {english_date(until)} "
        "(sampai akhir hari itu, WITA / to the end of that day, WITA)",
    ]


def render_pdf_page(pdf: bytes, *, dpi: int = PDF_DPI, page: int = 0, grayscale: bool = True) -> Image.Image:
    """Rasterise one page of a PDF to a PIL image (greyscale by default: all a decoder needs)."""
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise TokenError(Reason.UNREADABLE, f"not a readable PDF ({exc})") from None
    try:
        if len(document) <= page:
            raise TokenError(Reason.UNREADABLE, "the PDF has no pages")
        bitmap = document[page].render(scale=dpi / 72, grayscale=grayscale)
        return bitmap.to_pil()
    finally:
        document.close()


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise TokenError(Reason.UNREADABLE, f"image too large ({image.width}x{image.height})")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise TokenError(Reason.UNREADABLE, f"not a readable image or PDF ({exc})") from None
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def _token_in(text: str) -> str | None:
    """The QR holds the bare token; tolerate a verification URL ending in one."""
    text = text.strip()
    candidate = text.rsplit("/", 1)[-1].split("#")[-1].split("?")[0] if "/" in text else text
    return candidate if looks_like_token(candidate) else None


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and Path(text).is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        return False


def _is_ascii_token(data: bytes) -> bool:
    if len(data) > 8192 or data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8")):
        return False
    try:
        return looks_like_token(data.decode("ascii"))
    except UnicodeDecodeError:
        return False
