// perparb dashboard: the control actions of a run page (pause, resume, flatten an account's run).
// Sends `POST /api/v1/accounts/{account}/commands` with the token typed in the page as `Authorization: Bearer`,
// then follows the command until the run handles it. The token is read from the field at each click and never
// stored, logged or written into the page.
"use strict";

(function () {
  const section = document.getElementById("controls");
  const form = document.getElementById("control-form");
  const out = document.getElementById("control-result");
  if (!section || !form || !out) return;
  const account = section.dataset.account;
  const mode = section.dataset.mode || null;

  function show(text, tone) {
    out.textContent = text;
    out.className = tone || "";
  }

  async function follow(id) {
    for (let i = 0; i < 60; i += 1) {
      await new Promise(function (resolve) { setTimeout(resolve, 1000); });
      let response;
      try {
        response = await fetch("/api/v1/commands/" + id, { headers: { Accept: "application/json" } });
      } catch (err) {
        return;
      }
      if (!response.ok) return;
      const row = await response.json();
      if (row.status !== "pending") {
        show("command " + row.id + " (" + row.command + "): " + row.status +
             (row.run_id ? " by run " + row.run_id : "") + (row.result ? ": " + row.result : ""),
             row.status === "done" ? "ok" : "bad");
        return;
      }
    }
  }

  async function send(command) {
    if (command === "flatten" &&
        !window.confirm("Flatten account " + account + " (" + mode + "): close every position and stop its run?")) {
      return;
    }
    const token = document.getElementById("control-token").value.trim();
    const reason = document.getElementById("control-reason").value.trim();
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    show("sending " + command + "\u2026", "");
    let response;
    try {
      response = await fetch("/api/v1/accounts/" + encodeURIComponent(account) + "/commands", {
        method: "POST",
        headers: headers,
        body: JSON.stringify({ command: command, mode: mode, reason: reason || null }),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      show("could not reach the server: " + err, "bad");
      return;
    }
    let body = {};
    try { body = await response.json(); } catch (err) { body = {}; }
    if (response.status === 201) {
      show("command " + body.id + " (" + body.command + ") recorded: " + body.status +
           "; waiting for the run to pick it up\u2026", "ok");
      follow(body.id);
    } else {
      show("refused (HTTP " + response.status + "): " + (body.detail || body.error || response.statusText), "bad");
    }
  }

  form.querySelectorAll("button[data-command]").forEach(function (button) {
    button.addEventListener("click", function () { send(button.dataset.command); });
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();
