// Verifikasi Surat Keterangan: a pasted code (or the one read from an uploaded QR) → GET /v1/verify.
"use strict";

Console.page(() => {
  const { $, api, t, details } = Console;
  const KIND = { valid: "ok", expired: "warn", revoked: "bad", unknown: "bad", invalid: "bad" };

  async function verify(token) {
    const body = await api(`/v1/verify/${encodeURIComponent(token)}`, { auth: false });
    const verdict = $("#verify-verdict");
    verdict.textContent = t(`verify.status.${body.status}`);
    verdict.className = `verdict-badge ${KIND[body.status] || "bad"}`;
    $("#verify-explain").textContent = t(`verify.explain.${body.status}`);
    details("#verify-details", [
      [t("cert.number"), body.number], [t("name"), body.name], ["NIK", body.nik_masked],
      [t("verify.birth_date"), body.birth_date && Console.fmtDate(body.birth_date)],
      [t("cert.valid_until"), body.valid_until && Console.fmtDate(body.valid_until)],
      // the dinas by name ("Dinas Dukcapil Kota Kupang (53.71)"); the bare code from an older server
      [t("verify.issuer"), (Console.config.lang === "en" ? body.issuer_name_en : body.issuer_name_id) || body.issuer], [t("verify.revoked_at"), body.revoked_at && Console.fmtTime(body.revoked_at)],
      [t("reason"), Console.reason(body.reason)],
    ]);
    $("#verify-result").hidden = false;
    $("#verify-result").dataset.status = body.status;
  }

  Console.onSubmit("#verify-form", (data) => verify(String(data.get("token")).trim()));
  // a token handed back by the upload, or in the address (?token=...)
  const given = $("#verify-token").value.trim() || new URLSearchParams(location.search).get("token");
  if (given) {
    $("#verify-token").value = given;
    verify(given).catch(Console.fail);
  }
});
