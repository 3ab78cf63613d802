// Adjudication: open cases (who is deciding which); take the next case, or one of the list; its
// recording and candidates side by side (photos when the API gives them, per-modality scores);
// decide with a note, or give it back. Decided cases are listed too: a "same person" decision found
// wrong is corrected to "different persons", with a reason.
"use strict";

Console.page(() => {
  const { $, api, t, el, fill } = Console;
  let current = null;
  // A same-NIK case's "different persons" is no unique record: the NIK is the holder's, and the
  // recording must be re-recorded after the dinas checks the NIK (docs/dedup.md, Decisions).
  const sameNik = (c) => String(c.reason).startsWith("same_nik");
  const decisionText = (c, decision) => t(decision === "different_persons" && sameNik(c)
    ? "adj.different_persons.same_nik" : `adj.${decision}`);

  function photo(base64) {
    if (!base64) return el("div", { class: "photo none", text: t("adj.no_photo") });
    return el("img", { class: "photo", src: `data:image/jpeg;base64,${base64}`, alt: "" });
  }

  async function person(enrollmentId) {
    try { return await api(`/v1/enrollments/${enrollmentId}`); } catch (error) { return null; }
  }

  // Scores are evidence, -log10 of the chance that an impostor scores as high (the matcher's own
  // scale, open-ended): the bars run from 0 to twice the auto threshold the engine reports, and
  // the fused score's bar, which the thresholds apply to, marks the grey zone and the threshold.
  let scale = null; // {auto, grey, top}; null: the API gives no thresholds, bars are relative
  const share = (x) => (Math.max(0, Math.min(1, x)) * 100).toFixed(1);
  const fmtScore = (n) => Number(n).toLocaleString(Console.config.lang === "en" ? "en-GB" : "id-ID",
    { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  async function loadScale() {
    if (scale) return;
    const engine = await api("/v1/dedup/engine");
    if (typeof engine.auto_threshold !== "number") return;
    scale = { auto: engine.auto_threshold, grey: engine.grey_threshold, top: 2 * engine.auto_threshold };
  }

  function showScale() {
    $("#score-scale").textContent = scale
      ? t("adj.scale", { top: fmtScore(scale.top), auto: fmtScore(scale.auto), grey: fmtScore(scale.grey) })
      : t("adj.scale.relative");
  }

  function scoreBars(scores) {
    const known = Object.values(scores || {}).filter((v) => v !== null);
    const top = scale ? scale.top : Math.max(1, ...known);
    return el("table", { class: "scores" }, Object.entries(scores || {}).map(([modality, score]) => {
      const marked = scale && modality === "fused";
      const zone = !marked || score === null ? "" : score >= scale.auto ? "over" : score >= scale.grey ? "grey" : "";
      return el("tr", { "data-modality": modality },
        el("th", { text: t(`adj.modality.${modality}`) }),
        el("td", {}, score === null ? el("span", { class: "muted", text: "–" }) : el("div", { class: "bar" },
          el("span", { class: `fill ${zone}`, style: `width:${share(score / top)}%`, "data-share": share(score / top) }),
          marked ? el("i", { class: "grey-zone", style: `left:${share(scale.grey / top)}%;width:${
            share((scale.auto - scale.grey) / top)}%` }) : null,
          marked ? el("i", { class: "threshold", style: `left:${share(scale.auto / top)}%`,
            title: t("adj.threshold", { auto: fmtScore(scale.auto) }) }) : null)),
        el("td", { class: "num", text: score === null ? "" : fmtScore(score) }));
    }));
  }

  // one side of the case: the case's own view of the recording (photo, capture) when the API
  // gives it, and the enrollment's demographics
  function column(title, side, record, scores) {
    const r = record || {};
    const d = r.record || {};
    const s = side || {};
    return el("div", { class: "person", "data-enrollment": s.enrollment_id || r.id },
      el("h3", { text: title }), photo(s.photo_jpeg),
      el("dl", { class: "details compact" },
        el("dt", { text: t("name") }), el("dd", { text: r.name || "–" }),
        el("dt", { text: "NIK" }), el("dd", { class: "mono", text: s.nik || r.nik || "–" }),
        el("dt", { text: t("record.birth") }), el("dd", { text: [d.birth_place, d.birth_date].filter(Boolean).join(", ") || "–" }),
        el("dt", { text: t("status") }), el("dd", { text: r.status ? Console.statusLabel(r.status)
          : (s.outcome || s.status) ? Console.label("dedup", s.outcome || s.status) : "–" }),
        el("dt", { text: t("record.sites") }), el("dd", { text: `${s.recording_site || r.recording_site || "–"} → ${s.pickup_site || r.pickup_site || "–"}` }),
        el("dt", { text: t("receipt") }), el("dd", { class: "mono", text: s.receipt_number || r.receipt_number || "–" })),
      s.fingers_captured !== undefined
        ? el("p", { class: "muted small", text: t("adj.captured", { f: s.fingers_captured, i: s.irises_captured }) }) : "",
      scores ? scoreBars(scores) : "");
  }

  // "Adjudicator Ani (credential id)" -> "Adjudicator Ani"
  const nameOf = (actor) => String(actor || "").replace(/ \([^()]*\)$/, "");

  // Shows a case. One this adjudicator took, or one nobody holds, can be decided; one another
  // adjudicator holds, or one already decided, is shown to look at only, saying who has it.
  async function show(c, taken) {
    const me = (Console.who() || {}).name;
    const mine = taken || Boolean(c.held_by && me && nameOf(c.held_by) === me);
    const free = c.status === "OPEN" && !c.held_by;
    await loadScale();
    showScale();
    current = c;
    $("#case-id").textContent = c.id;
    fill("#case-reason", [`${t("reason")}: `, Console.reason(c.reason), ` · ${t("adj.opened")} ${Console.fmtTime(c.opened_at)}`]);
    const held = $("#case-held");
    held.hidden = !(c.status === "DECIDED" || (!mine && c.held_by));
    // a corrected case was first decided "same person": both decisions are said, in order, the first
    // with the candidate it named and its note (what a correction is asked to judge)
    const first = c.corrected_at ? "same_person" : c.decision;
    // CaseDetail gives both sides with photos; a plain CaseView only ids, NIKs and scores
    const sides = c.matches || c.candidates;
    const matched = sides.findIndex((x) => x.enrollment_id === c.matched_enrollment_id);
    const decision = decisionText(c, first) + (first === "same_person" && matched >= 0
      ? ` ${t("adj.same_as")} ${t("adj.candidate", { n: matched + 1 })} · ${sides[matched].nik}` : "");
    held.textContent = c.status === "DECIDED"
      ? [t("adj.decided_by", { decision, who: nameOf(c.decided_by), at: Console.fmtTime(c.decided_at), note: c.note || "" }),
        c.corrected_at ? t("adj.corrected_by", { who: nameOf(c.corrected_by), at: Console.fmtTime(c.corrected_at),
          reason: c.correction_reason }) : ""].filter(Boolean).join(" ")
      : c.held_by ? t("adj.held", { who: nameOf(c.held_by), until: Console.fmtTime(c.held_until) }) : "";
    const correction = $("#correction-form"); // none for a role that may not correct
    if (correction) {
      correction.hidden = !(c.status === "DECIDED" && c.decision === "same_person" && !c.corrected_at);
      $("#correct-help").hidden = sameNik(c);
      $("#correct-help-same-nik").hidden = !sameNik(c);
      correction.reset();
    }
    $("#case-mine").hidden = !mine;
    $("#case-mine").textContent = mine ? t("adj.mine", { until: Console.fmtTime(c.held_until) }) : "";
    const form = $("#decision-form");
    form.hidden = !(mine || free);
    $("#release").hidden = !mine;
    const records = await Promise.all([c.enrollment_id, ...sides.map((x) => x.enrollment_id)].map(person));
    fill("#case-compare", [
      column(t("adj.recording"), c.recording, records[0], null),
      ...sides.map((side, i) => column(t("adj.candidate", { n: i + 1 }), side, records[i + 1], side.scores)),
    ]);
    // "same person" as which candidate: a choice to make when the candidates hold several NIKs
    // (a same-NIK case's first candidate is the NIK's holder, the one meant unless another is chosen)
    const named = sides.map((x, i) => [x, i]).filter(([x]) => x.nik);
    const choose = new Set(named.map(([x]) => x.nik)).size > 1 && !String(c.reason).startsWith("same_nik");
    fill("#same-as", [...(choose ? [el("option", { value: "", text: t("adj.same_as.choose") })] : []),
      ...named.map(([x, i]) => el("option", { value: x.enrollment_id, text: `${t("adj.candidate", { n: i + 1 })} · ${x.nik}` }))]);
    $("#same-as-row").hidden = named.length < 2;
    $("#different-label").textContent = decisionText(c, "different_persons");
    $("#same-nik-help").hidden = !sameNik(c);
    form.reset();
    $("#case").hidden = false;
    $("#case").dataset.id = c.id;
    $("#case").dataset.mine = mine ? "yes" : "no";
    $("#case").dataset.heldUntil = mine ? c.held_until : "";
    keep(mine ? c : null);
  }

  // A case the adjudicator works on stays theirs while they work on it: half-way through the hold
  // it is taken again (renewed) if they did something on the page since; a page left alone lets it
  // run out, for another adjudicator to take.
  let renewal = null;
  let active = false;
  for (const kind of ["pointerdown", "keydown", "input", "wheel"]) {
    document.addEventListener(kind, () => { active = true; }, { passive: true, capture: true });
  }
  function keep(c) {
    clearTimeout(renewal);
    if (!c || c.status !== "OPEN" || !c.held_until) return;
    active = false;
    renewal = setTimeout(() => renew(c.id).catch(Console.fail),
      Math.max(5000, (new Date(c.held_until) - Date.now()) / 2));
  }
  async function renew(caseId) {
    if (!current || current.id !== caseId) return;
    if (!active) { keep(current); return; } // looked at again half-way through what is left
    try {
      const again = await api(`/v1/dedup/cases/${caseId}/take`, { method: "POST" });
      current.held_until = again.held_until;
      $("#case-mine").textContent = t("adj.mine", { until: Console.fmtTime(again.held_until) });
      $("#case").dataset.heldUntil = again.held_until;
      keep(again);
    } catch (error) {
      if (error.status !== 409) throw error;
      await show(await api(`/v1/dedup/cases/${caseId}`), false); // taken or decided meanwhile: say by whom
    }
  }

  // Opening a case from the list takes it; if another adjudicator has it (or decided it), the
  // page shows it to look at, naming them.
  async function open(caseId) {
    try {
      await show(await api(`/v1/dedup/cases/${caseId}/take`, { method: "POST" }), true);
    } catch (error) {
      if (error.status !== 409) throw error;
      await show(await api(`/v1/dedup/cases/${caseId}`), false);
    }
    await list();
  }

  // the list's filters (the next case taken is of them too) and page
  const PAGE = Math.min(200, Math.max(1, Number(new URLSearchParams(location.search).get("limit")) || 50));
  let filters = {};
  let offset = 0;
  const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

  async function takeNext() {
    const c = await api(`/v1/dedup/cases/next?${query({ site: filters.site, reason: filters.reason })}`, { method: "POST" });
    if (!c) { Console.flash(t("adj.none_free")); return; }
    await show(c, true);
    await list();
  }

  // A decided case is only looked at (and, decided "same person", corrected): opened without taking it.
  async function view(caseId) {
    await show(await api(`/v1/dedup/cases/${caseId}`), false);
    await list();
  }

  function state(c) {
    if (c.status === "DECIDED") {
      return `${decisionText(c, c.decision)}${c.corrected_at ? ` (${t("adj.corrected_mark")})` : ""}`;
    }
    return c.held_by ? `${nameOf(c.held_by)} (${Console.fmtTime(c.held_until)})` : "";
  }

  async function list() {
    const decided = filters.status === "DECIDED";
    $("#cases-title").textContent = t(decided ? "adj.decided_cases" : "adj.open_cases");
    $("#cases-state").textContent = t(decided ? "adj.decision" : "adj.held_by");
    const body = await api(`/v1/dedup/cases?${query({ status: decided ? "DECIDED" : "OPEN", site: filters.site, reason: filters.reason,
      opened_from: filters.day, opened_to: filters.day, limit: PAGE, offset })}`);
    if (!body.items.length && offset > 0 && body.total > 0) { offset = Math.max(0, body.total - PAGE); return list(); }
    $("#cases-total").textContent = `(${body.total})`;
    $("#cases-range").textContent = body.total > PAGE
      ? t("adj.page", { from: offset + 1, to: offset + body.items.length, total: body.total }) : "";
    $("#cases-prev").hidden = offset === 0;
    $("#cases-next").hidden = offset + body.items.length >= body.total;
    fill("#cases", body.items.map((c) => el("tr", { "data-case": c.id, "data-held": c.held_by ? "yes" : "no",
      class: current && current.id === c.id ? "selected" : "" },
      el("td", { class: "small", text: Console.fmtTime(c.opened_at) }), el("td", { class: "mono", text: c.nik }),
      el("td", { text: c.site }), el("td", { class: "small" }, Console.reason(c.reason)),
      el("td", { class: "num", text: c.candidates.length }),
      el("td", { class: "small held-by", text: state(c) }),
      el("td", {}, el("button", { type: "button", class: "small", text: t("adj.open"),
        onclick: () => (c.status === "OPEN" ? open(c.id) : view(c.id)).catch(Console.fail) })))));
    $("#no-cases").hidden = body.items.length > 0;
  }

  $("#take-next").addEventListener("click", () => takeNext().catch(Console.fail));
  Console.onSubmit("#case-filter", async (data) => {
    filters = { status: data.get("status"), site: String(data.get("site")).trim(), reason: data.get("reason"),
      day: data.get("day") };
    offset = 0;
    await list();
  });
  $("#cases-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); list().catch(Console.fail); });
  $("#cases-next").addEventListener("click", () => { offset += PAGE; list().catch(Console.fail); });

  $("#release").addEventListener("click", async () => {
    try {
      await api(`/v1/dedup/cases/${current.id}/release`, { method: "POST" });
      Console.flash(t("adj.released"));
      $("#case").hidden = true;
      current = null;
      keep(null);
    } catch (error) { Console.fail(error); }
    await list().catch(Console.fail);
  });

  // A note or reason of blanks passes the form's own check (required, minlength) and was refused by
  // the API only after the adjudicator had confirmed: it is said first, in the page's language.
  function blank(data, form, name) {
    if (String(data.get(name)).trim()) return false;
    Console.flash(`${t(`field.${name}`)}: ${t("form.blank")}`, "bad");
    form.elements[name].focus();
    return true;
  }

  Console.onSubmit("#decision-form", async (data, form) => {
    if (blank(data, form, "note")) return;
    const same = data.get("decision") === "same_person";
    const candidate = same ? data.get("candidate") || null : null;
    if (same && !$("#same-as-row").hidden && !candidate) { Console.flash(t("adj.same_as.choose"), "bad"); return; }
    if (!confirm(t("adj.decide.confirm", { decision: decisionText(current, data.get("decision")) }))) return;
    let decided;
    try {
      decided = await api(`/v1/dedup/cases/${current.id}/decision`, { method: "POST",
        body: { decision: data.get("decision"), note: String(data.get("note")).trim(), ...(candidate ? { candidate } : {}) } });
    } catch (error) {
      // taken or decided by another meanwhile (a hold that ran out): show who, and their decision
      if (error.status === 409) await show(await api(`/v1/dedup/cases/${current.id}`), false);
      await list();
      throw error;
    }
    Console.flash(t("adj.decided", { decision: decisionText(decided, decided.decision) }));
    $("#case").hidden = true;
    current = null;
    keep(null);
    await list();
  });

  // A "same person" decision found wrong: corrected to "different persons" with a reason (audited);
  // the recording becomes unique and its card is printed (a same-NIK case's: re-recorded after the NIK check).
  if ($("#correction-form")) {
    Console.onSubmit("#correction-form", async (data, form) => {
      if (blank(data, form, "reason")) return;
      const same = sameNik(current);
      if (!confirm(t(same ? "adj.correct.confirm.same_nik" : "adj.correct.confirm"))) return;
      const caseId = current.id;
      try {
        await api(`/v1/dedup/cases/${caseId}/correct`, { method: "POST", body: { reason: String(data.get("reason")) } });
      } catch (error) {
        if (error.status === 409) await show(await api(`/v1/dedup/cases/${caseId}`), false); // corrected meanwhile: by whom
        throw error;
      }
      Console.flash(t(same ? "adj.corrected.same_nik" : "adj.corrected"));
      await show(await api(`/v1/dedup/cases/${caseId}`), false);
      await list();
    });
  }

  Console.every(10000, list);
  // a link to a case (from a record's page) shows it; the list's button or the next case takes one
  const asked = new URLSearchParams(location.search).get("case");
  if (asked) api(`/v1/dedup/cases/${asked}`).then((c) => show(c, false)).catch(Console.fail);
});
