// The telephony journal panel: live entries (server-sent events), actions, move and resize.
// Every text from the server is put into the page with textContent: a caller ID is
// attacker-controlled and must never become markup.
(() => {
  "use strict";
  const panel = document.getElementById("journal");
  if (!panel) return;
  const list = panel.querySelector(".journal-entries");
  const empty = panel.querySelector(".journal-empty");
  const linesBox = panel.querySelector(".journal-lines");
  const conn = panel.querySelector(".journal-conn");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const MARGIN = 16;
  const entries = new Map();
  let geometry = null;

  // --- talking to the server -----------------------------------------------------------------
  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.status === 401) { window.location = "/login"; throw new Error("logged out"); }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `The server answered ${response.status}.`);
    return data;
  }

  const toast = window.offhookToast;  // toast.js

  async function act(method, url, body) {
    try { return await api(method, url, body); } catch (error) { toast(error.message, true); return null; }
  }

  // --- rendering --------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.appendChild(child);
    return node;
  }

  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", `#i-${name}`);
    svg.setAttribute("aria-hidden", "true");
    svg.appendChild(use);
    return svg;
  }

  function clock(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
  }

  function liveDuration(entry) {
    if (!entry.connected_at) return null;
    const until = entry.ended_at ? new Date(entry.ended_at) : new Date();
    return Math.max(0, Math.round((until - new Date(entry.connected_at)) / 1000));
  }

  function stateLabel(entry) {
    if (entry.state === "ringing") return ["ringing", "Ringing"];
    if (entry.state === "dialling") return ["ringing", "Dialling"];
    if (entry.state === "connected") return ["ongoing", "Connected"];
    if (entry.end_reason_label && entry.answered_by) {
      return [entry.end_reason, `${entry.end_reason_label} (by ${entry.answered_by})`];
    }
    if (entry.end_reason_label) return [entry.end_reason, entry.end_reason_label];
    return ["", ""];
  }

  function splitButton(label, kind, entry) {
    const base = `/${kind}/new?call=${entry.id}`;
    const main = el("a", { class: "btn", href: base, text: label });
    const arrow = el("button", {
      type: "button", class: "btn arrow", "aria-haspopup": "menu",
      "aria-label": `${label} with a project`, title: "Choose a project", text: "▾",
    });
    const wrap = el("span", { class: "split" }, main, arrow);
    arrow.addEventListener("click", async (event) => {
      event.stopPropagation();
      if (closeMenus() === wrap) return;
      const query = entry.address ? `?address_id=${entry.address.id}` : "";
      const projects = await act("GET", `/api/projects${query}`);
      if (!projects) return;
      const menu = el("div", { class: "menu", role: "menu" });
      const own = projects.filter((p) => p.own), others = projects.filter((p) => !p.own);
      const section = (title, items) => {
        if (!items.length) return;
        menu.appendChild(el("div", { class: "menu-head", text: title }));
        for (const p of items) {
          menu.appendChild(el("a", {
            role: "menuitem", class: p.own ? "own" : "", href: `${base}&project=${p.id}`,
            text: `${p.code} · ${p.description}`,
          }));
        }
      };
      section(entry.address ? `Projects of ${entry.address.name}` : "Projects", own);
      section(own.length ? "Other projects" : "Projects", others);
      if (!projects.length) menu.appendChild(el("div", { class: "menu-head", text: "No active projects" }));
      wrap.appendChild(menu);
    });
    return wrap;
  }

  // The complete address as a hint over the blue name (hover or keyboard focus).
  const hint = el("div", { class: "tooltip", role: "tooltip", id: "journal-hint", hidden: true });
  document.body.appendChild(hint);
  function withHint(node, text) {
    node.dataset.hint = text;
    const showHint = () => {
      hint.textContent = text;
      hint.hidden = false;
      const r = node.getBoundingClientRect();
      const below = r.bottom + 6 + hint.offsetHeight < window.innerHeight;
      hint.style.left = `${Math.max(8, Math.min(r.left, window.innerWidth - hint.offsetWidth - 8))}px`;
      hint.style.top = `${below ? r.bottom + 6 : r.top - hint.offsetHeight - 6}px`;
      node.setAttribute("aria-describedby", "journal-hint");
    };
    const hideHint = () => { hint.hidden = true; node.removeAttribute("aria-describedby"); };
    node.addEventListener("mouseenter", showHint);
    node.addEventListener("focus", showHint);
    node.addEventListener("mouseleave", hideHint);
    node.addEventListener("blur", hideHint);
    return node;
  }

  function chooseButton(entry) {
    const wrap = el("span", { class: "split" });
    const button = el("button", {
      type: "button", class: "btn", "aria-haspopup": "menu",
      text: `${entry.match_count} matches ▾`, title: "Several addresses have this number",
    });
    button.addEventListener("click", async (event) => {
      event.stopPropagation();
      if (closeMenus() === wrap) return;
      const candidates = await act("GET", `/api/calls/${entry.id}/candidates`);
      if (!candidates) return;
      const menu = el("div", { class: "menu", role: "menu" });
      menu.appendChild(el("div", { class: "menu-head", text: "Who is it?" }));
      for (const c of candidates) {
        if (c.address_id === null) continue;
        menu.appendChild(el("button", {
          type: "button", role: "menuitem", title: c.full_address, text: c.name,
          onclick: () => { closeMenus(); act("POST", `/api/calls/${entry.id}/address`, { address_id: c.address_id }); },
        }));
      }
      wrap.appendChild(menu);
    });
    wrap.appendChild(button);
    return wrap;
  }

  function closeMenus() {
    let owner = null;
    for (const menu of document.querySelectorAll(".journal .menu")) { owner = menu.parentElement; menu.remove(); }
    return owner;
  }
  document.addEventListener("click", (event) => { if (!event.target.closest(".menu")) closeMenus(); });

  function dialButton(entry, label) {
    if (entry.can.dial) {
      return el("button", {
        type: "button", class: label === "Call back" ? "btn btn-primary" : "btn", text: label,
        onclick: () => act("POST", "/api/dial", { number: entry.number.e164 || entry.number.raw, line_id: entry.line.id }),
      });
    }
    if (entry.can.tel && entry.number.dial) {
      return el("a", { class: "btn", href: `tel:${entry.number.dial}`, text: label });
    }
    return null;
  }

  function render(entry) {
    const [stateClass, stateText] = stateLabel(entry);
    const li = el("li", {
      class: "entry" + (entry.missed ? " missed" : ""), "data-call": entry.id,
      "data-state": entry.state,
    });
    li.appendChild(el("span", {
      class: `entry-icon ${entry.icon}`, role: "img", "aria-label": entry.icon_label, title: entry.icon_label,
    }, icon(entry.icon)));

    const number = entry.number.kind === "withheld" ? "Number withheld" : entry.number.display || entry.number.raw || "Unknown";
    li.appendChild(el("div", { class: "entry-top" },
      el("span", { class: "entry-number", text: number }),
      stateText ? el("span", { class: `entry-state ${stateClass}`, text: stateText }) : null,
      el("span", { class: "entry-time", text: entry.time }),
      el("span", { class: "entry-duration", "data-duration": "", text: clock(liveDuration(entry)) }),
    ));

    const who = el("div", { class: "entry-who" });
    if (entry.address) {
      who.appendChild(withHint(el("a", {
        class: "addr", href: `/addresses/${entry.address.id}`, text: entry.address.name,
      }), entry.address.full_address));
      if (entry.address.match === "switchboard") {
        who.appendChild(el("span", { class: "approx", title: "Found by the company's switchboard number", text: "via switchboard" }));
      }
    } else if (entry.colleague) {
      who.appendChild(el("span", { class: "addr", title: "Colleague", text: entry.colleague.name }));
    } else if (entry.number.kind === "withheld") {
      who.appendChild(el("span", { class: "unknown", text: "Caller unknown" }));
    } else {
      who.appendChild(el("span", { class: "unknown", text: "Not in your addresses" }));
    }
    if (entry.remote_name && (!entry.address || entry.remote_name !== entry.address.name)) {
      who.appendChild(el("span", { class: "remote-name", text: `“${entry.remote_name}”` }));
    }
    li.appendChild(who);

    const actions = el("div", { class: "entry-actions" });
    const add = (node) => node && actions.appendChild(node);
    if (entry.can.answer) add(el("button", { type: "button", class: "btn btn-ok", text: "Answer", onclick: () => act("POST", `/api/calls/${entry.id}/answer`) }));
    if (entry.can.hangup) {
      const label = entry.state === "ringing" ? "Reject" : "Hang up";
      add(el("button", { type: "button", class: "btn btn-danger", text: label, onclick: () => act("POST", `/api/calls/${entry.id}/hangup`) }));
    }
    if (entry.address) add(el("a", { class: "btn", href: `/addresses/${entry.address.id}`, text: "Open" }));
    if (entry.can.choose_address) add(chooseButton(entry));
    if (entry.can.create_address) {
      add(el("a", { class: "btn", href: `/addresses/new?number=${encodeURIComponent(entry.number.display || entry.number.raw)}&call=${entry.id}`, text: "Create address" }));
    }
    if (entry.can.call_back) add(dialButton(entry, "Call back"));
    else if (entry.state === "ended") add(dialButton(entry, "Call"));
    add(splitButton("Activity", "activities", entry));
    if (entry.can.service) add(splitButton("Service", "services", entry));
    if (entry.activity_id) add(el("a", { class: "done", href: `/activities/${entry.activity_id}`, text: "✓ Activity" }));
    if (entry.service_id) add(el("a", { class: "done", href: `/services/${entry.service_id}`, text: "✓ Service" }));
    else if (entry.not_billable) add(el("span", { class: "done muted", title: "Marked as not to be billed", text: "Not billable" }));
    li.appendChild(actions);
    return li;
  }

  function sortKey(entry) { return entry.started_at || ""; }

  function redraw() {
    hint.hidden = true;
    const sorted = [...entries.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : b.id - a.id));
    list.replaceChildren(...sorted.map(render));
    empty.hidden = sorted.length > 0;
    if (sorted.length) show();
    updatePage();
  }

  function upsert(entry) {
    const isNew = !entries.has(entry.id);
    entries.set(entry.id, entry);
    redraw();
    if (isNew) list.querySelector(`[data-call="${entry.id}"]`)?.classList.add("fresh");
    if (entry.state === "ringing") document.title = `☎ ${entry.address ? entry.address.name : entry.number.display} · offhook`;
    else if (document.title.startsWith("☎")) document.title = document.title.replace(/^☎ .* · /, "");
  }

  // Pages that show today's figures or line states (the Today page) follow the journal live.
  const BADGES = { connected: "badge-ok", failed: "badge-danger", connecting: "badge-warn", reconnecting: "badge-warn" };
  function updatePage(lines) {
    const total = document.querySelector('[data-stat="calls-today"]');
    if (total) total.textContent = String(entries.size);
    const missedBox = document.querySelector('[data-stat="missed-today"]');
    if (missedBox) {
      const missed = [...entries.values()].filter((e) => e.missed).length;
      missedBox.hidden = missed === 0;
      missedBox.querySelector(".badge").textContent = `${missed} missed`;
    }
    for (const line of lines || []) {
      const box = document.querySelector(`[data-line-status="${line.id}"]`);
      if (!box) continue;
      const badge = box.querySelector("[data-line-state]");
      badge.textContent = line.state;
      badge.className = `badge ${BADGES[line.state] || "badge-muted"}`;
      box.querySelector("[data-line-reason]").textContent = line.reason ? `(${line.reason})` : "";
    }
  }

  function renderLines(lines) {
    updatePage(lines);
    linesBox.replaceChildren(...lines.map((line) => el("span", {
      class: "line-pill", title: `${line.title}: ${line.state}${line.reason ? ` (${line.reason})` : ""}`,
      "data-line": line.id,
    }, el("span", { class: `line-dot ${line.state}` }), el("span", { text: line.title }))));
  }
  let lineStates = [];
  function updateLine(status) {
    lineStates = lineStates.map((l) => (l.id === status.id ? { ...l, ...status } : l));
    renderLines(lineStates);
  }

  setInterval(() => {
    for (const node of list.querySelectorAll('.entry[data-state="connected"] [data-duration]')) {
      const entry = entries.get(Number(node.closest(".entry").dataset.call));
      if (entry) node.textContent = clock(liveDuration(entry));
    }
  }, 1000);

  // --- live updates ---------------------------------------------------------------------------
  // A stream that drops (a server restart, the network, a proxy answering 502) is opened again
  // here, with back-off: EventSource gives up for good on some of these. Every stream starts
  // with a snapshot, which replaces whatever this page missed meanwhile.
  const RETRY_FIRST = 1000, RETRY_MAX = 15000;
  let retry = RETRY_FIRST;
  function connect() {
    const source = new EventSource("/api/journal/stream");
    source.addEventListener("snapshot", (event) => {
      const data = JSON.parse(event.data);
      entries.clear();
      for (const entry of data.entries) entries.set(entry.id, entry);
      lineStates = data.lines;
      renderLines(lineStates);
      redraw();
      retry = RETRY_FIRST;
      conn.textContent = "live";
      conn.classList.remove("lost");
      panel.dataset.live = "true";
    });
    source.addEventListener("call", (event) => upsert(JSON.parse(event.data).entry));
    source.addEventListener("line", (event) => updateLine(JSON.parse(event.data).line));
    source.onerror = () => {
      source.close();
      conn.textContent = "reconnecting…";
      conn.classList.add("lost");
      panel.dataset.live = "false";
      // Jitter, so the browsers of a restarted server do not all come back at the same moment.
      setTimeout(connect, retry * (0.75 + Math.random() / 2));
      retry = Math.min(retry * 2, RETRY_MAX);
    };
  }

  // --- placement: stored per user, snapped to the nearest corner when opened --------------------
  function viewport() { return { w: document.documentElement.clientWidth, h: document.documentElement.clientHeight }; }

  function place(x, y, w, h) {
    const vp = viewport();
    w = Math.min(Math.max(w, 300), vp.w - 2 * 8);
    h = Math.min(Math.max(h, 160), vp.h - 2 * 8);
    x = Math.min(Math.max(x, 0), Math.max(0, vp.w - w));
    y = Math.min(Math.max(y, 0), Math.max(0, vp.h - h));
    Object.assign(panel.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px`, right: "auto", bottom: "auto" });
  }

  function snapToCorner(g) {
    const vp = viewport();
    const w = g.width, h = g.height;
    // The stored centre, relative to the window it was stored in, picks the corner.
    const cx = (g.x + g.width / 2) / g.viewport_width;
    const cy = (g.y + g.height / 2) / g.viewport_height;
    const x = cx < 0.5 ? MARGIN : vp.w - Math.min(w, vp.w - 16) - MARGIN;
    const y = cy < 0.5 ? MARGIN + topbarHeight() : vp.h - Math.min(h, vp.h - 16) - MARGIN;
    place(x, y, w, h);
    panel.dataset.corner = `${cy < 0.5 ? "top" : "bottom"}-${cx < 0.5 ? "left" : "right"}`;
  }

  function topbarHeight() {
    const bar = document.querySelector(".topbar");
    return bar ? bar.getBoundingClientRect().height : 0;
  }

  function currentGeometry() {
    const r = panel.getBoundingClientRect(), vp = viewport();
    return {
      x: r.left, y: r.top, width: r.width, height: panel.classList.contains("collapsed") ? (geometry?.height || 480) : r.height,
      viewport_width: vp.w, viewport_height: vp.h, collapsed: panel.classList.contains("collapsed"),
    };
  }

  let saving = 0;
  async function saveGeometry() {
    // Saved right away (keepalive survives a reload that follows at once).
    geometry = currentGeometry();
    const mine = ++saving;
    try {
      const response = await fetch("/api/preferences/journal-panel", {
        method: "PUT", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(geometry),
      });
      if (!response.ok) throw new Error(`The server answered ${response.status}.`);
      if (mine === saving) panel.dataset.saved = String(mine);
    } catch (error) {
      toast(`Could not keep the journal's place: ${error.message}`, true);
    }
  }

  function drag(handle, onMove) {
    handle.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest("button")) return;
      event.preventDefault();
      const start = { x: event.clientX, y: event.clientY, rect: panel.getBoundingClientRect() };
      panel.classList.add("dragging");
      handle.setPointerCapture(event.pointerId);
      const move = (e) => onMove(e.clientX - start.x, e.clientY - start.y, start.rect);
      const up = () => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
        handle.removeEventListener("pointercancel", up);
        panel.classList.remove("dragging");
        saveGeometry();
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
      handle.addEventListener("pointercancel", up);
    });
  }
  drag(panel.querySelector(".journal-head"), (dx, dy, r) => place(r.left + dx, r.top + dy, r.width, r.height));
  drag(panel.querySelector(".journal-resize"), (dx, dy, r) => place(r.left, r.top, r.width + dx, r.height + dy));

  const collapse = panel.querySelector(".journal-collapse");
  function setCollapsed(on) {
    panel.classList.toggle("collapsed", on);
    collapse.setAttribute("aria-expanded", String(!on));
    collapse.textContent = on ? "+" : "–";
    collapse.setAttribute("aria-label", on ? "Expand journal" : "Collapse journal");
  }
  collapse.addEventListener("click", () => { setCollapsed(!panel.classList.contains("collapsed")); saveGeometry(); });

  function show() {
    if (!panel.hidden) return;
    panel.hidden = false;
    if (geometry && geometry.width) {
      snapToCorner(geometry);
      setCollapsed(Boolean(geometry.collapsed));
    }
    panel.dataset.ready = "true";
  }

  window.addEventListener("resize", () => {
    if (panel.hidden) return;
    const r = panel.getBoundingClientRect();
    place(r.left, r.top, r.width, r.height);
  });

  // --- dialling a number typed into the panel ---------------------------------------------------
  const dialForm = panel.querySelector(".journal-dial");
  dialForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = dialForm.querySelector("input");
    const number = input.value.trim();
    if (!number) return;
    if (await act("POST", "/api/dial", { number })) input.value = "";
  });

  (async () => {
    geometry = await act("GET", "/api/preferences/journal-panel");
    connect();
  })();
})();
