// Log in: the operator pastes the credential they were given; it stays in this tab only.
"use strict";

Console.page(() => {
  const { $, t, ApiError } = Console;
  Console.onSubmit("#login-form", async (data) => {
    $("#login-error").hidden = true;
    try {
      const me = await Console.login(String(data.get("token")).trim());
      const next = new URLSearchParams(location.search).get("next");
      const first = me.pages[0] ? `/console/${me.pages[0]}` : "/console/status";
      location.href = next && next.startsWith("/console/") ? next : first;
    } catch (error) {
      $("#login-error").textContent = !(error instanceof ApiError) ? String(error)
        : error.status === 401 ? t("login.refused") : error.describe();
      $("#login-error").hidden = false;
    }
  });
});
