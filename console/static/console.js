// The console's common script: configuration, translations, the credential, calls to /v1,
// small DOM and formatting helpers. Each page's own script uses `Console` and nothing else.
"use strict";

const Console = (() => {
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const TOKEN = "ektp.token";
  const WHO = "ektp.who";

  function t(key, values) {
    let text = config.messages[key];
    if (text === undefined) text = key;
    if (values) for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{${k}}`, v);
    return text;
  }

  const token = () => sessionStorage.getItem(TOKEN);
  const who = () => JSON.parse(sessionStorage.getItem(WHO) || "null");

  // ---- the API's words in the page's language ----------------------------------------------
  // The services join a message in both languages as "Indonesian / English", some as
  // "English / Indonesian"; these words tell which half is which (and what a one-language
  // message is written in).
  const WORDS = {
    id: new Set(("tidak ada di ke dari yang dan atau untuk dengan ini itu sudah belum harus oleh dalam coba lagi "
      + "terlalu banyak habis ditemukan ditolak perbaiki berikut kolom sah nomor tanda terima karakter diizinkan "
      + "permintaan badan besar menunggu kosong cetak dicetak dapat diganti berlaku sampai terdaftar dicabut rekaman "
      + "perekaman diulang ganda aktif blangko kartu surat keterangan detik menit pemiliknya diserahkan kepada lebih "
      + "baru pengalihan melingkar menjawab lokasi dikenal").split(" ")),
    en: new Set(("the not no is are be of to in at this that by for with found invalid input too many requests try "
      + "again seconds body request over bytes character allowed refused fix these fields waiting free cannot printed "
      + "card valid until register revoked replaced newer duplicate record must recorded handed live site blank cards "
      + "stock redirect loop answering enrollment certificate has been its a an unknown").split(" ")),
  };
  function leaning(text) { // > 0: Indonesian, < 0: English
    let score = 0;
    for (const word of String(text).toLowerCase().match(/[a-z]+/g) || []) {
      score += Number(WORDS.id.has(word)) - Number(WORDS.en.has(word));
    }
    return score;
  }
  // {text, lang}: the half of an "Indonesian / English" message in the page's language, or the
  // message whole with the language it is written in (null: cannot tell)
  function bilingual(text) {
    const halves = String(text).split(" / ");
    if (halves.length === 2) {
      const [id, en] = leaning(halves[0]) < leaning(halves[1]) ? [halves[1], halves[0]] : halves;
      return { text: (config.lang === "en" ? en : id).trim(), lang: config.lang };
    }
    const score = leaning(text);
    return { text: String(text), lang: score > 0 ? "id" : score < 0 ? "en" : null };
  }
  // a text of the system's own in the page's language (one half when it is in both)
  const inLanguage = (text) => (text ? bilingual(text).text : text);

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.error)) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
      this.code = (body && body.error) || null;
    }
    // what went wrong in the page's language: the API's message when it says it in this language
    // (or in both), else the console's own text for the error code, else for the HTTP status
    headline() {
      const detail = this.body && typeof this.body.detail === "string" ? bilingual(this.body.detail) : null;
      if (detail && detail.lang === config.lang) return detail.text.charAt(0).toUpperCase() + detail.text.slice(1);
      return config.messages[`error.${this.code}`] || config.messages[`error.http.${this.status}`]
        || t("error.http", { status: this.status });
    }
    // the headline plus every field problem, in the page's language, the field named in it too
    describe() {
      const fields = (this.body && this.body.fields) || [];
      const lines = fields.map((f) => `${config.messages[`field.${f.field}`] || f.field}: ${
        config.lang === "en" ? f.message_en : f.message_id}`);
      return [this.headline(), ...lines].join("\n");
    }
    // for operators: the error's code and status, small under the message
    note() {
      return this.status ? [this.code, `HTTP ${this.status}`].filter(Boolean).join(" · ") : "";
    }
  }

  // fetch, with a server that cannot be reached answered as an ApiError (status 0) like the others
  async function send(path, init) {
    try {
      return await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, null);
    }
  }

  // fetch /v1 with the credential; JSON in, JSON (or a Blob with {blob: true}) out
  async function api(path, { method = "GET", body, blob = false, auth = true } = {}) {
    const headers = { Accept: blob ? "*/*" : "application/json" };
    if (auth && token()) headers.Authorization = `Bearer ${token()}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) {
      let payload = null;
      try { payload = await response.json(); } catch (_) { /* not JSON */ }
      // a credential sent and refused (revoked, or the session ended): back to the login page, not a
      // stale page; a page asked without one (the login page itself) stays
      if (response.status === 401 && auth) logout(Boolean(headers.Authorization));
      throw new ApiError(response.status, payload);
    }
    if (blob) return response.blob();
    return response.status === 204 ? null : response.json();
  }

  function can(action) {
    const me = who();
    return !!me && (config.can[action] || []).includes(me.role);
  }

  // the API refuses a site-bound credential anything of another site
  function mayActFor(site) {
    const me = who();
    return !!me && (me.city_wide || me.site === site);
  }

  function logout(go = true) {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(WHO);
    if (go) location.href = "/console/login";
  }

  async function login(secret) {
    const response = await send("/console/session", { headers: { Authorization: `Bearer ${secret}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const me = await response.json();
    sessionStorage.setItem(TOKEN, secret);
    sessionStorage.setItem(WHO, JSON.stringify(me));
    return me;
  }

  // ---- DOM ---------------------------------------------------------------------------------
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(target, rows) {
    const node = typeof target === "string" ? $(target) : target;
    node.replaceChildren(...rows);
  }

  // a message for the user; `note` (an error's code) goes small under it, `title` over it on hover
  function flash(message, kind = "ok", note = "", title = "") {
    const box = $("#flash");
    box.textContent = message;
    if (note) box.append(el("small", { class: "flash-note", text: note }));
    box.title = title;
    box.className = `flash ${kind}`;
    box.hidden = false;
    clearTimeout(flash.timer);
    if (kind === "ok") flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function fail(error) {
    if (!(error instanceof ApiError)) { flash(String(error), "bad"); return; }
    // the API's own words stay on hover for whoever needs them (a report to the admin)
    flash(error.describe(), "bad", error.note(), typeof error.message === "string" ? error.message : "");
  }

  function details(target, pairs) {
    fill(target, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  }

  // ---- formatting --------------------------------------------------------------------------
  const locale = () => (config.lang === "en" ? "en-GB" : "id-ID");
  // the API's times are UTC; SQLite ones come without an offset
  function parseTime(value) {
    if (!value) return null;
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  }
  function fmtTime(value) {
    const d = parseTime(value);
    return d ? d.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" }) : "–";
  }
  function fmtDate(value) {
    if (!value) return "–";
    const d = value.length === 10 ? new Date(`${value}T00:00:00`) : parseTime(value);
    return d.toLocaleDateString(locale(), { dateStyle: "medium" });
  }
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return t("unit.seconds", { n: s });
    if (s < 5400) return t("unit.minutes", { n: Math.round(s / 60) });
    if (s < 172800) return t("unit.hours", { n: Math.round(s / 3600) });
    return t("unit.days", { n: Math.round(s / 86400) });
  }
  const fmtClock = () => new Date().toLocaleTimeString(locale());
  const fmtNumber = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString(locale()));
  // a translated label, or the code itself when the dictionary does not know it
  const label = (prefix, code) => config.messages[`${prefix}.${code}`] || code;
  const statusLabel = (status) => label("status", status);
  // A reason the system gives as a code (or several, comma-separated: a de-duplication's reasons)
  // in words, from the dictionary's `reason.<code>` (an unknown code stays as it is); a reason in
  // words (not a code) is the system's own text: the half in the page's language.
  const CODES = /^[a-z0-9_:]+(,\s*[a-z0-9_:]+)*$/;
  function reasonText(value) {
    if (!value) return "";
    if (!CODES.test(value)) return inLanguage(value);
    return value.split(/,\s*/).map((code) => config.messages[`reason.${code}`] || code).join("; ");
  }
  // the words, with the code small beside them for operators (not on the public pages)
  function reason(value) {
    if (!value) return "";
    const text = reasonText(value);
    const code = !config.public && CODES.test(value) && text !== value;
    return el("span", { class: "reason" }, el("span", { class: "reason-text", text }),
      code ? el("code", { class: "reason-code", text: value }) : null);
  }
  const badge = (text, kind) => el("span", { class: `badge ${kind || ""}`, text });

  function timeline(target, steps) {
    fill(target, steps.map((s) => el("li", {},
      el("span", { class: "when", text: fmtTime(s.at) }),
      el("span", { class: "what", text: config.lang === "en" ? s.text_en : s.text_id }))));
  }

  // repeat `fn` every `ms` without overlapping calls; errors are shown, the loop goes on
  function every(ms, fn) {
    let busy = false;
    const run = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try { await fn(); } catch (error) { fail(error); } finally { busy = false; }
    };
    run();
    return setInterval(run, ms);
  }

  // a form's submit handler: no reload, the button disabled while the call runs
  function onSubmit(form, handler) {
    const node = typeof form === "string" ? $(form) : form;
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      const buttons = $$("button", node);
      buttons.forEach((b) => { b.disabled = true; });
      // an error left from an earlier try does not stand over this one's result
      if ($("#flash").classList.contains("bad")) $("#flash").hidden = true;
      try { await handler(new FormData(node), node); } catch (error) { fail(error); } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  // ---- the frame: who is logged in, which pages and buttons they get ----------------------
  function frame() {
    const me = who();
    if (me) {
      $("#who").textContent = `${me.name} · ${t(`role.${me.role}`)} · ${me.site}`;
      $("#who").hidden = false;
      $("#logout").hidden = false;
      $("#login-link").hidden = true;
      for (const link of $$("[data-page-link]")) link.hidden = !me.pages.includes(link.dataset.pageLink);
    }
    $("#logout").addEventListener("click", () => logout(true));
    // switching the language keeps what the page shows (?receipt=..., ?q=...)
    for (const link of $$("[data-lang]")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const params = new URLSearchParams(location.search);
        params.set("lang", link.dataset.lang);
        location.search = params.toString();
      });
    }
    for (const node of $$("[data-can]")) if (!can(node.dataset.can)) node.remove();
    if (config.public) return true;
    if (!me) {
      location.href = `/console/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      return false;
    }
    if (!me.pages.includes(config.page)) {
      $("#forbidden").hidden = false;
      return false;
    }
    for (const node of $$(".operator")) node.hidden = false;
    return true;
  }

  // a page's script: `Console.page(() => {...})` runs after the frame admits the user
  function page(start) {
    const go = () => { if (frame()) start(); };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  }

  return {
    config, t, inLanguage, api, ApiError, can, mayActFor, who, login, logout, page, $, $$, el, fill, flash, fail, details,
    fmtTime, fmtDate, fmtDuration, fmtClock, fmtNumber, parseTime, label, statusLabel, reasonText, reason, badge,
    timeline, every, onSubmit,
  };
})();
