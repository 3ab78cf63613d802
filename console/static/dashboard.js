// Dashboard: counts per status, the dedup engine (pause/resume), the backlog and its chart,
// print nodes and stock, cards printed per day, certificates.
"use strict";

Console.page(() => {
  const { $, api, t, el, fill, can, config, fmtNumber, badge } = Console;
  const STATUSES = ["RECEIVED", "ADJUDICATION", "ENROLL_FAILURE", "DUPLICATE", "PRINT_READY", "SENT_FOR_PRINTING",
    "PRINTED", "ISSUED", "REPLACED"];
  const SAMPLES = "ektp.backlog.samples";
  const LOW_STOCK = 100;

  // ---- counts per status ---------------------------------------------------------------------
  function statsCounts(body) {
    // accept {counts: {S: n}}, {S: n} or [{status, count}]
    const source = body.counts || body.by_status || body;
    if (Array.isArray(source)) return Object.fromEntries(source.map((r) => [r.status, r.count]));
    return source;
  }

  async function statusCounts() {
    let counts;
    if (config.features.enrollment_stats) {
      counts = statsCounts(await api("/v1/enrollments/stats"));
    } else {
      const totals = await Promise.all(STATUSES.map((s) => api(`/v1/enrollments?status=${s}&limit=1`)));
      counts = Object.fromEntries(STATUSES.map((s, i) => [s, totals[i].total]));
    }
    fill("#status-counts", STATUSES.map((s) => el("a", { class: "tile", href: `/console/enrollments?status=${s}`,
      "data-status": s }, el("div", { class: "tile-n", text: fmtNumber(counts[s] || 0) }),
    el("div", { class: "tile-l", text: Console.statusLabel(s) }))));
  }

  // ---- the engine ----------------------------------------------------------------------------
  function showEngine(engine) {
    const state = $("#engine-state");
    state.textContent = engine.paused ? t("dash.engine.paused") : t("dash.engine.running");
    state.className = `badge ${engine.paused ? "warn" : "ok"}`;
    state.dataset.paused = String(engine.paused);
    // an operator's reason as they wrote it; the engine's own (an ABIS not answering) in the page's language
    $("#engine-reason").textContent = (engine.automatic ? Console.inLanguage(engine.reason) : engine.reason) || "";
    $("#engine-meta").textContent = t("dash.engine.meta", {
      matcher: engine.matcher, by: engine.changed_by || "–", at: Console.fmtTime(engine.changed_at),
      gallery: engine.gallery_size === null ? "–" : fmtNumber(engine.gallery_size),
    });
    if ($("#pause-form")) $("#pause-form").hidden = engine.paused;
    if ($("#resume")) $("#resume").hidden = !engine.paused;
  }

  // ---- the backlog and its chart --------------------------------------------------------------
  function samples() { return JSON.parse(sessionStorage.getItem(SAMPLES) || "[]"); }

  function drawChart(points) {
    const svg = $("#backlog-chart");
    const W = 400, H = 120, pad = 6;
    const now = Date.now();
    const span = Math.max(60000, now - (points[0] ? points[0][0] : now));
    const top = Math.max(1, ...points.map((p) => p[1]));
    const xy = points.map(([time, n]) => [pad + (W - 2 * pad) * (1 - (now - time) / span),
      H - pad - (H - 2 * pad) * (n / top)]);
    const ns = "http://www.w3.org/2000/svg";
    const make = (tag, attrs) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      return node;
    };
    const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    const area = xy.length ? `${xy[0][0].toFixed(1)},${H - pad} ${line} ${xy[xy.length - 1][0].toFixed(1)},${H - pad}` : "";
    const label = make("text", { x: pad, y: 14, class: "chart-label" });
    label.textContent = t("dash.backlog.chart.max", { n: fmtNumber(top), m: Math.round(span / 60000) });
    svg.replaceChildren(
      make("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: "chart-axis" }),
      make("polygon", { points: area, class: "chart-area" }),
      make("polyline", { points: line, class: "chart-line", id: "backlog-line" }),
      label,
    );
    svg.dataset.samples = String(points.length);
  }

  async function backlog() {
    const body = await api("/v1/dedup/backlog");
    $("#backlog-waiting").textContent = fmtNumber(body.waiting);
    $("#backlog-oldest").textContent = Console.fmtDuration(body.oldest_wait_seconds);
    const sites = Object.entries(body.per_site).sort();
    fill("#backlog-sites", sites.length ? sites.map(([site, n]) => el("tr", {}, el("td", { text: site }),
      el("td", { class: "num", text: fmtNumber(n) }))) : [el("tr", {}, el("td", { colspan: 2, class: "muted", text: t("dash.backlog.empty") }))]);
    const points = [...samples(), [Date.now(), body.waiting]].slice(-240);
    sessionStorage.setItem(SAMPLES, JSON.stringify(points));
    drawChart(points);
    showEngine({ ...(await api("/v1/dedup/engine")) });
  }

  // ---- print -----------------------------------------------------------------------------------
  async function printing() {
    const [nodes, stock] = await Promise.all([api("/v1/print/nodes?limit=200"), api("/v1/print/stock")]);
    const count = (s) => nodes.items.filter((n) => n.status === s).length;
    fill("#node-counts", ["LIVE", "DRAINING", "LOST"].map((s) => el("a", { class: "tile", href: "/console/print" },
      el("div", { class: "tile-n", text: count(s) }), el("div", { class: "tile-l", text: t(`node.${s}`) }))));
    fill("#dash-stock", stock.map((s) => {
      const low = s.low !== undefined ? s.low : s.available < LOW_STOCK;
      return el("tr", { class: low ? "low" : "" }, el("td", { text: s.site }),
        el("td", { class: "num", text: fmtNumber(s.available) }), el("td", {}, low ? badge(t("stock.low"), "bad") : ""));
    }));
    // cards printed per day and site, from the most recent printed and handed-over jobs
    const pages = await Promise.all(["PRINTED", "ISSUED"].map((s) => api(`/v1/print/jobs?status=${s}&limit=200`)));
    const perDay = new Map();
    for (const job of pages.flatMap((p) => p.items)) {
      if (!job.printed_at) continue;
      const key = `${Console.parseTime(job.printed_at).toISOString().slice(0, 10)} ${job.site}`;
      perDay.set(key, (perDay.get(key) || 0) + 1);
    }
    const rows = [...perDay.entries()].sort().reverse().slice(0, 14);
    fill("#printed-per-day", rows.length ? rows.map(([key, n]) => {
      const [day, site] = key.split(" ");
      return el("tr", {}, el("td", { text: Console.fmtDate(day) }), el("td", { text: site }), el("td", { class: "num", text: fmtNumber(n) }));
    }) : [el("tr", {}, el("td", { colspan: 3, class: "muted", text: t("dash.printed.none") }))]);
  }

  // ---- certificates ----------------------------------------------------------------------------
  async function certificates() {
    if (!config.features.certificate_stats) { $("#certificate-note").hidden = false; return; }
    const counts = await api("/v1/certificates/stats");
    fill("#certificate-counts", ["issued", "valid", "expired", "revoked", "superseded"].filter((k) => counts[k] !== undefined)
      .map((k) => el("div", { class: "tile" }, el("div", { class: "tile-n", text: fmtNumber(counts[k]) }),
        el("div", { class: "tile-l", text: t(`cert.count.${k}`) }))));
  }

  // ---- pause / resume --------------------------------------------------------------------------
  if ($("#pause-form")) {
    Console.onSubmit("#pause-form", async (data) => {
      showEngine(await api("/v1/dedup/engine/pause", { method: "POST", body: { reason: String(data.get("reason")).trim() } }));
      $("#pause-reason").value = "";
      Console.flash(t("dash.paused"));
    });
    $("#resume").addEventListener("click", async () => {
      if (!confirm(t("dash.resume.confirm"))) return;
      try {
        showEngine(await api("/v1/dedup/engine/resume", { method: "POST" }));
        Console.flash(t("dash.resumed"));
      } catch (error) { Console.fail(error); }
    });
  }

  Console.every(10000, statusCounts);
  if (can("dedup.view")) Console.every(3000, backlog);
  if (can("print.view")) Console.every(10000, printing);
  if (can("certificates.manage")) certificates().catch(Console.fail);
});
