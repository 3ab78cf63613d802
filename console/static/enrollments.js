// Enrollment search by NIK or receipt number, and one record with its timeline.
"use strict";

Console.page(() => {
  const { $, api, t, el, fill, badge, details } = Console;

  async function show(id) {
    const r = await api(`/v1/enrollments/${id}`);
    const record = r.record || {};
    const address = record.address || {};
    const places = record.place_names || {};
    $("#record-name").textContent = r.name;
    details("#record-details", [
      [t("status"), el("span", {}, badge(Console.statusLabel(r.status), "info"), " ", el("span", { class: "muted small", text: r.siak_status }))],
      ["NIK", el("span", { class: "mono", text: r.nik })],
      [t("receipt"), el("span", { class: "mono", text: r.receipt_number })],
      [t("record.birth"), [record.birth_place, record.birth_date].filter(Boolean).join(", ")],
      [t("record.address"), [address.street, address.rt && `RT ${address.rt}/RW ${address.rw}`, places.village, places.district]
        .filter(Boolean).join(", ")],
      [t("record.sites"), `${r.recording_site} → ${r.pickup_site}`],
      [t("reason"), Console.reason(r.status_reason)],
      ["ID", el("span", { class: "mono small", text: r.id })],
    ]);
    fill("#record-warnings", (r.warnings || []).map((w) => el("p", { class: "notice warn small",
      text: `${w.field}: ${Console.config.lang === "en" ? w.message_en : w.message_id}` })));
    if ($("#record-certificate")) $("#record-certificate").href = `/console/certificates?enrollment=${r.id}`;
    if ($("#record-case")) $("#record-case").hidden = r.status !== "ADJUDICATION";
    Console.timeline("#record-timeline", r.timeline);
    if (Console.can("print.view")) await jobs(r.id);
    $("#record").hidden = false;
    $("#record").dataset.id = r.id;
  }

  // the record's print jobs: hand the card over, or void a printed card and print it again
  async function jobs(enrollmentId) {
    const body = await api(`/v1/print/jobs?enrollment_id=${enrollmentId}`);
    const reprint = (job) => el("form", { class: "inline-form", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const reason = String(new FormData(event.target).get("reason")).trim();
        if (!confirm(t("print.reprint.confirm", { serial: job.serial }))) return;
        await api(`/v1/print/jobs/${job.id}/reprint`, { method: "POST", body: { reason } });
        Console.flash(t("print.reprinted", { serial: job.serial }));
        await jobs(enrollmentId);
      } catch (error) { Console.fail(error); }
    } }, el("input", { name: "reason", required: true, minlength: 3, maxlength: 200, placeholder: t("print.reprint.reason") }),
    el("button", { type: "submit", class: "small ghost", text: t("print.reprint") }));
    const handOver = (job) => el("button", { type: "button", class: "small", text: t("print.hand_over"), onclick: async () => {
      if (!confirm(t("print.hand_over.confirm", { serial: job.serial }))) return;
      try {
        await api(`/v1/print/jobs/${job.id}/issue`, { method: "POST" });
        Console.flash(t("print.handed_over"));
        await show(enrollmentId);
      } catch (error) { Console.fail(error); }
    } });
    fill("#record-jobs", body.items.length ? body.items.map((job) => el("tr", { "data-job": job.id },
      el("td", { class: "mono", text: job.serial || "–" }), el("td", { text: job.site }),
      el("td", {}, badge(t(`print.job.${job.status}`), "info"), job.wait_reason ? el("div", { class: "muted small", text: Console.inLanguage(job.wait_reason) }) : ""),
      el("td", { class: "small", text: job.printed_at ? Console.fmtTime(job.printed_at) : "–" }),
      el("td", { class: "job-actions" }, job.status === "PRINTED" && Console.can("print.hand_over") ? handOver(job) : "",
        job.status === "PRINTED" && Console.can("print.reprint") && Console.config.features.reprint ? reprint(job) : "")))
      : [el("tr", {}, el("td", { colspan: 5, class: "muted", text: t("print.jobs.none") }))]);
  }

  async function search(params) {
    const body = await api(`/v1/enrollments?${new URLSearchParams({ ...params, limit: 50 })}`);
    fill("#results", body.items.map((r) => el("tr", { class: "clickable", "data-id": r.id, onclick: () => show(r.id).catch(Console.fail) },
      el("td", { class: "mono", text: r.receipt_number }), el("td", { class: "mono", text: r.nik }),
      el("td", { text: r.name }), el("td", {}, badge(Console.statusLabel(r.status), "info")),
      el("td", { text: r.pickup_site }), el("td", { class: "small", text: Console.fmtTime(r.created_at) }))));
    $("#no-results").hidden = body.items.length > 0;
    $("#search-results").hidden = false;
    if (body.items.length === 1) await show(body.items[0].id);
  }

  Console.onSubmit("#search-form", async (data) => {
    $("#record").hidden = true;
    const q = String(data.get("q")).trim().toUpperCase();
    await search(/^\d{16}$/.test(q) ? { nik: q } : { receipt: q });
    history.replaceState(null, "", `?q=${encodeURIComponent(q)}`);
  });

  const params = new URLSearchParams(location.search);
  if (params.get("q")) {
    $("#search-q").value = params.get("q");
    $("#search-form").requestSubmit();
  } else if (params.get("status")) {
    search({ status: params.get("status") }).catch(Console.fail);
  }
});
