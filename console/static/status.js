// Cek status KTP-el: a receipt number → the public, masked timeline.
"use strict";

Console.page(() => {
  const { $, api, ApiError } = Console;

  async function check(receipt) {
    $("#status-missing").hidden = true;
    $("#status-result").hidden = true;
    // the address names what was asked last, found or not (a language switch reloads it)
    history.replaceState(null, "", `?receipt=${encodeURIComponent(receipt)}`);
    let body;
    try {
      body = await api(`/v1/status/${encodeURIComponent(receipt)}`, { auth: false });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) { $("#status-missing").hidden = false; return; }
      throw error;
    }
    $("#status-name").textContent = body.name_masked;
    $("#status-now").textContent = Console.config.lang === "en" ? body.status_en : body.status_id;
    // the place in words ("Kantor Kecamatan Oebobo (53.71.04)"); the bare code from an older server
    $("#status-site").textContent = (Console.config.lang === "en" ? body.pickup_place_en : body.pickup_place_id)
      || body.pickup_site;
    // a waiting recording's place in the queue is said once: its last step (WAITING_FOR_DEDUP) names
    // it, beside why nothing moves while de-duplication is paused
    Console.timeline("#status-timeline", body.timeline);
    $("#status-result").hidden = false;
  }

  Console.onSubmit("#status-form", (data) => check(String(data.get("receipt")).trim().toUpperCase()));
  const asked = new URLSearchParams(location.search).get("receipt");
  if (asked) {
    $("#receipt").value = asked;
    check(asked).catch(Console.fail);
  }
});
