// Print: nodes (live/draining/lost) updating every 2 s, stock with low-stock warnings, jobs
// waiting per site and why, redirecting a site's queue, draining a node.
"use strict";

Console.page(() => {
  const { $, api, t, el, fill, can, badge, fmtNumber } = Console;
  const LOW_STOCK = 100;
  const NODE_KIND = { LIVE: "ok", DRAINING: "warn", LOST: "bad" };

  async function drain(node) {
    if (!confirm(t("print.drain.confirm", { name: node.name }))) return;
    await api(`/v1/print/nodes/${node.id}/drain`, { method: "POST" });
    Console.flash(t("print.drained", { name: node.name }));
    await nodes();
  }

  async function nodes() {
    const body = await api("/v1/print/nodes?limit=200");
    const shown = body.items.filter((n) => n.status !== "GONE")
      .sort((a, b) => a.site.localeCompare(b.site) || a.name.localeCompare(b.name));
    const ago = (value) => Console.fmtDuration((Date.now() - Console.parseTime(value)) / 1000);
    fill("#nodes", shown.length ? shown.map((n) => el("tr", { "data-node": n.name, "data-status": n.status },
      el("td", {}, el("strong", { text: n.name }), el("div", { class: "muted small", text: n.printer_model })),
      el("td", { text: n.site }),
      el("td", { text: t(`node.role.${n.role}`) }),
      el("td", {}, badge(t(`node.${n.status}`), NODE_KIND[n.status])),
      el("td", { class: "num", text: `${n.in_flight} / ${n.capacity}` }),
      el("td", { class: "num", text: fmtNumber(n.cards_per_hour) }),
      el("td", { class: "num", text: fmtNumber(n.cards_printed) }),
      el("td", { class: "small", text: t("ago", { d: ago(n.last_heartbeat) }) }),
      el("td", {}, n.status === "LIVE" && can("print.drain")
        ? el("button", { type: "button", class: "small ghost", onclick: () => drain(n).catch(Console.fail), text: t("print.drain") })
        : ""),
    )) : [el("tr", {}, el("td", { colspan: 9, class: "muted", text: t("print.nodes.none") }))]);
    $("#nodes-updated").textContent = t("updated", { at: Console.fmtClock() });
  }

  async function stock() {
    const rows = await api("/v1/print/stock");
    await waiting(rows.map((s) => s.site).filter(Console.mayActFor));
    fill("#stock", rows.map((s) => {
      const low = s.low !== undefined ? s.low : s.available < LOW_STOCK;
      return el("tr", { class: low ? "low" : "", "data-site": s.site }, el("td", { text: s.site }),
        el("td", { class: "num", text: fmtNumber(s.available) }), el("td", { class: "num", text: fmtNumber(s.reserved) }),
        el("td", { class: "num", text: fmtNumber(s.used) }), el("td", { class: "num", text: fmtNumber(s.spoiled) }),
        el("td", {}, low ? badge(t("stock.low"), "bad") : ""));
    }));
  }

  // jobs waiting per site and why: the print service's own answer per site when it has one
  async function waiting(sites) {
    let rows;
    if (Console.config.features.site_queue) {
      const queues = await Promise.all(sites.map((site) => api(`/v1/print/sites/${site}/queue`)));
      rows = queues.filter((q) => q.waiting > 0)
        .map((q) => [q.site, q.waiting, q.reason ? Console.inLanguage(q.reason) : t("print.no_printer_free")]);
    } else {
      const pages = await Promise.all(["QUEUED", "HELD"].map((s) => api(`/v1/print/jobs?status=${s}&limit=200`)));
      const bySite = new Map();
      for (const job of pages.flatMap((p) => p.items)) {
        const entry = bySite.get(job.site) || { count: 0, reasons: new Set() };
        entry.count += 1;
        entry.reasons.add(job.wait_reason ? Console.inLanguage(job.wait_reason)
          : job.status === "HELD" ? t("print.held") : t("print.no_printer_free"));
        bySite.set(job.site, entry);
      }
      rows = [...bySite.entries()].sort().map(([site, e]) => [site, e.count, [...e.reasons].join("; ")]);
    }
    fill("#waiting", rows.length ? rows.map(([site, n, why]) => el("tr", { "data-site": site }, el("td", { text: site }),
      el("td", { class: "num", text: fmtNumber(n) }), el("td", { class: "small", text: why })))
      : [el("tr", {}, el("td", { colspan: 3, class: "muted", text: t("print.waiting.none") }))]);
  }

  async function routes() {
    if (!$("#routes")) return;
    const rows = await api("/v1/print/sites/routes");
    fill("#routes", rows.length ? rows.map((r) => el("tr", { "data-site": r.site }, el("td", { text: r.site }),
      el("td", { text: r.print_site }), el("td", { class: "small", text: r.reason }),
      el("td", { class: "small", text: `${r.set_by} · ${Console.fmtTime(r.set_at)}` }),
      el("td", {}, el("button", { type: "button", class: "small ghost", text: t("print.routes.clear"), onclick: async () => {
        if (!confirm(t("print.routes.clear.confirm", { site: r.site }))) return;
        try {
          const out = await api(`/v1/print/sites/${r.site}/redirect`, { method: "DELETE" });
          Console.flash(t("print.routes.cleared", { site: r.site, n: out.moved_jobs }));
          await routes();
        } catch (error) { Console.fail(error); }
      } })))) : [el("tr", {}, el("td", { colspan: 5, class: "muted", text: t("print.routes.none") }))]);
  }

  if ($("#redirect-form")) {
    Console.onSubmit("#redirect-form", async (data, form) => {
      const site = String(data.get("site")).trim();
      const out = await api(`/v1/print/sites/${site}/redirect`, { method: "POST",
        body: { to_site: String(data.get("to_site")).trim(), reason: String(data.get("reason")).trim() } });
      Console.flash(t("print.redirected", { site, to: out.print_site, n: out.moved_jobs }));
      form.reset();
      await routes();
    });
  }

  Console.every(2000, nodes);
  Console.every(5000, stock);
  routes().catch(Console.fail);
});
