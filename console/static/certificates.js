// Interim certificates (Surat Keterangan): issue for an enrollment, download the PDF, renew one
// that expired or is about to, revoke with a reason.
"use strict";

Console.page(() => {
  const { $, api, t, el, fill, badge, config } = Console;
  const KIND = { VALID: "ok", REVOKED: "bad", EXPIRED: "warn", SUPERSEDED: "warn" };
  let current = null;
  let pdfUrl = null;

  function show(cert) {
    current = cert;
    $("#cert-number").textContent = cert.number;
    const status = $("#cert-status");
    status.textContent = t(`cert.status.${cert.status}`);
    status.className = `badge ${KIND[cert.status] || ""}`;
    status.dataset.status = cert.status;
    Console.details("#cert-details", [
      ["NIK", el("span", { class: "mono", text: cert.nik })],
      [t("cert.issued_on"), Console.fmtDate(cert.issued_on)],
      [t("cert.valid_until"), Console.fmtDate(cert.valid_until)],
      [t("cert.issued_by"), cert.issued_by],
      [t("cert.enrollment_id"), el("a", { class: "mono small", href: `/console/enrollments?q=${cert.nik}`, text: cert.enrollment_id })],
      [t("verify.revoked_at"), cert.revoked_at && Console.fmtTime(cert.revoked_at)],
      // why it ended: the code in words, and an operator's own reason beside it
      [t("reason"), cert.revoke_code ? el("span", {}, Console.reason(cert.revoke_code),
        cert.revoke_code === "operator" && cert.revoke_reason ? ` — ${cert.revoke_reason}` : "")
        : cert.revoke_reason],
      [t("cert.superseded_by"), cert.superseded_by],
    ]);
    $("#cert-token").value = cert.token;
    $("#cert-verify").href = `/console/verify?token=${encodeURIComponent(cert.token)}`;
    $("#revoke-form").hidden = cert.status !== "VALID";
    // the current certificate, expired or about to: a new one with a new number replaces it
    $("#cert-renew").hidden = !["VALID", "EXPIRED"].includes(cert.status);
    if (pdfUrl) URL.revokeObjectURL(pdfUrl);
    pdfUrl = null;
    $("#cert-pdf-link").hidden = true;
    $("#certificate").hidden = false;
  }

  const path = (number) => `/v1/certificates/${number.split("/").map(encodeURIComponent).join("/")}`;

  Console.onSubmit("#issue-form", async (data) => {
    const cert = await api("/v1/certificates", { method: "POST", body: { enrollment_id: String(data.get("enrollment_id")).trim() } });
    show(cert);
    Console.flash(t("cert.issued", { number: cert.number }));
    await recent();
  });

  Console.onSubmit("#find-form", async (data) => show(await api(path(String(data.get("number")).trim()))));

  Console.onSubmit("#revoke-form", async (data, form) => {
    if (!confirm(t("cert.revoke.confirm", { number: current.number }))) return;
    show(await api(`${path(current.number)}/revoke`, { method: "POST", body: { reason: String(data.get("reason")).trim() } }));
    form.reset();
    Console.flash(t("cert.revoked", { number: current.number }));
    await recent();
  });

  $("#cert-renew").addEventListener("click", async () => {
    const old = current.number;
    if (!confirm(t("cert.renew.confirm", { number: old }))) return;
    try {
      show(await api(`${path(old)}/renew`, { method: "POST" }));
      Console.flash(t("cert.renewed", { number: current.number, old }));
      await recent();
    } catch (error) { Console.fail(error); }
  });

  // the PDF needs the credential, so it is fetched here and offered as a blob URL
  $("#cert-pdf").addEventListener("click", async () => {
    try {
      const blob = await api(`${path(current.number)}/pdf`, { blob: true });
      if (pdfUrl) URL.revokeObjectURL(pdfUrl);
      pdfUrl = URL.createObjectURL(blob);
      const link = $("#cert-pdf-link");
      link.href = pdfUrl;
      link.download = `suket-${current.number.replaceAll("/", "-")}.pdf`;
      link.dataset.bytes = String(blob.size);
      link.hidden = false;
      link.click();
    } catch (error) { Console.fail(error); }
  });

  async function recent() {
    if (!config.features.certificate_list) return;
    const body = await api("/v1/certificates?limit=20");
    const items = body.items || body;
    fill("#cert-list", items.map((c) => el("tr", { class: "clickable", onclick: () => show(c) },
      el("td", { class: "mono", text: c.number }), el("td", { class: "mono", text: c.nik }),
      el("td", {}, badge(t(`cert.status.${c.status}`), KIND[c.status])), el("td", { text: Console.fmtDate(c.valid_until) }))));
    $("#cert-list-card").hidden = false;
  }

  const asked = new URLSearchParams(location.search).get("enrollment");
  if (asked) $("#issue-enrollment").value = asked;
  recent().catch(Console.fail);
});
