// The demo's "Simulate call" strip, contributed by the simulator driver: it appears at the top
// of every page of the demo and lets a call ring on your simulated line (or its ring group).
(() => {
  "use strict";
  if (document.body.dataset.demo !== "true") return;
  const header = document.querySelector("header");
  if (!header) return; // not logged in
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  // The strip's texts in the user's language (SimulatorDriver.page_texts).
  const T = window.offhookText;

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || T("The server answered {status}.", { status: response.status }));
    return data;
  }

  const caller = el("select", { name: "number", "aria-label": T("Caller") });
  const outcome = el("select", { name: "outcome", "aria-label": T("What happens") }, [
    el("option", { value: "ringing", text: T("rings until you answer") }),
    el("option", { value: "answered", text: T("is answered for a minute") }),
    el("option", { value: "missed", text: T("is missed") }),
  ]);
  const target = el("select", { name: "to", "aria-label": T("Where it rings") }, [
    el("option", { value: "", text: T("on your line") }),
    el("option", { value: "600", text: T("in the team's ring group (600)") }),
  ]);
  const status = el("span", { class: "demo-status", role: "status" });
  const form = el("form", { class: "demo-strip", "aria-label": T("Simulate a call") }, [
    el("span", { class: "badge badge-demo", text: T("Demo") }),
    el("span", { text: T("Simulate a call from") }),
    caller,
    el("span", { text: T("that") }),
    outcome,
    target,
    el("button", { type: "submit", class: "btn btn-small btn-primary", text: T("Simulate call") }),
    status,
  ]);
  header.after(form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    try {
      await api("POST", "/api/drivers/simulator/calls", {
        number: caller.value,
        outcome: outcome.value,
        to: target.value || null,
      });
    } catch (error) {
      status.textContent = error.message;
    }
  });

  api("GET", "/api/drivers/simulator/callers")
    .then((callers) => {
      caller.replaceChildren(...callers.map((c) => el("option", { value: c.number, text: c.label })));
    })
    .catch((error) => {
      status.textContent = error.message;
    });
})();
