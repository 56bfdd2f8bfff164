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
  const missedCount = panel.querySelector(".journal-missed");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The page hands over the journal's texts in the user's language (offhook/web/journal_texts.py);
  // a text it has no translation for is shown as written.
  const TEXTS = JSON.parse(panel.dataset.texts || "{}");
  function t(text, parts) {
    let shown = TEXTS[text] || text;
    for (const [name, value] of Object.entries(parts || {})) shown = shown.split(`{${name}}`).join(String(value));
    return shown;
  }
  // Times and days as the pages write them (Babel's short time, medium date of the page's
  // locale), in the firm's time zone, whatever the browser's own.
  const LOCALE = document.documentElement.lang || "en";
  const ZONE = panel.dataset.zone || undefined;
  const TIME = new Intl.DateTimeFormat(LOCALE, { timeStyle: "short", timeZone: ZONE });
  const DAY = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeZone: ZONE });
  function when(entry) {
    const at = new Date(entry.started_at);
    if (Number.isNaN(at.getTime())) return entry.time;
    // `date` and `day` are the firm's days (the server's): a call of another day shows its day.
    return day && entry.date && entry.date !== day ? `${DAY.format(at)} ${TIME.format(at)}` : TIME.format(at);
  }
  const MARGIN = 16;
  const entries = new Map();

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
    if (!response.ok) throw new Error(data.detail || t("The server answered {status}.", { status: response.status }));
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
    // Whole seconds, cut: the server's rule (offhook/settings/clock.py), so the journal, the call
    // history and the service form show the same length.
    return Math.max(0, Math.floor((until - new Date(entry.connected_at)) / 1000));
  }

  function stateLabel(entry) {
    if (entry.state === "ringing") return ["ringing", t("Ringing")];
    if (entry.state === "dialling") return ["ringing", t("Dialling")];
    if (entry.state === "connected") return ["ongoing", t("Connected")];
    if (entry.end_reason_label && entry.answered_by) {
      return [entry.end_reason, t("{reason} (by {name})", { reason: t(entry.end_reason_label), name: entry.answered_by })];
    }
    if (entry.end_reason_label) return [entry.end_reason, t(entry.end_reason_label)];
    return ["", ""];
  }

  function splitButton(label, kind, entry) {
    const base = `/${kind}/new?call=${entry.id}`;
    const main = el("a", { class: "btn", href: base, text: t(label) });
    const arrow = el("button", {
      type: "button", class: "btn arrow", "aria-haspopup": "menu",
      "aria-label": t("{label} with a project", { label: t(label) }), title: t("Choose a project"), text: "▾",
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
      section(entry.address ? t("Projects of {name}", { name: entry.address.name }) : t("Projects"), own);
      section(own.length ? t("Other projects") : t("Projects"), others);
      if (!projects.length) menu.appendChild(el("div", { class: "menu-head", text: t("No active projects") }));
      openMenu(wrap, arrow, menu);
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
      text: t("{count} matches ▾", { count: entry.match_count }), title: t("Several addresses have this number"),
    });
    button.addEventListener("click", async (event) => {
      event.stopPropagation();
      if (closeMenus() === wrap) return;
      const candidates = await act("GET", `/api/calls/${entry.id}/candidates`);
      if (!candidates) return;
      const menu = el("div", { class: "menu", role: "menu" });
      menu.appendChild(el("div", { class: "menu-head", text: t("Who is it?") }));
      for (const c of candidates) {
        if (c.address_id === null) continue;
        menu.appendChild(el("button", {
          type: "button", role: "menuitem", title: c.full_address, text: c.name,
          onclick: () => { closeMenus(); act("POST", `/api/calls/${entry.id}/address`, { address_id: c.address_id }); },
        }));
      }
      openMenu(wrap, button, menu);
    });
    wrap.appendChild(button);
    return wrap;
  }

  // A menu opens below its button where it fits, else above it, and is never cut off by the
  // panel: it is placed on the window (position: fixed), not inside the scrolling list.
  function openMenu(wrap, button, menu) {
    menu.dataset.owner = "";
    wrap.appendChild(menu);
    button.setAttribute("aria-expanded", "true");
    const vp = viewport(), r = button.getBoundingClientRect(), gap = 3;
    const below = vp.h - r.bottom - gap - 8, above = r.top - gap - 8;
    const down = below >= Math.min(menu.scrollHeight, 260) || below >= above;
    menu.style.maxHeight = `${Math.max(80, Math.min(320, down ? below : above))}px`;
    const width = menu.offsetWidth;
    menu.style.left = `${Math.max(8, Math.min(r.left, vp.w - width - 8))}px`;
    if (down) menu.style.top = `${r.bottom + gap}px`;
    else menu.style.bottom = `${vp.h - r.top + gap}px`;
    menu.dataset.side = down ? "below" : "above";
    menu.querySelector('[role="menuitem"]')?.focus();
    menu.addEventListener("keydown", (event) => {
      const items = [...menu.querySelectorAll('[role="menuitem"]')];
      const at = items.indexOf(document.activeElement);
      let next = null;
      if (event.key === "ArrowDown") next = items[(at + 1) % items.length];
      else if (event.key === "ArrowUp") next = items[(at - 1 + items.length) % items.length];
      else if (event.key === "Home") next = items[0];
      else if (event.key === "End") next = items[items.length - 1];
      else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); closeMenus(); button.focus(); return; }
      else if (event.key === "Tab") { closeMenus(); return; }
      if (next) { event.preventDefault(); next.focus(); }
    });
  }

  function closeMenus() {
    let owner = null;
    for (const menu of document.querySelectorAll(".journal .menu")) {
      owner = menu.parentElement;
      owner.querySelector('[aria-expanded="true"]')?.setAttribute("aria-expanded", "false");
      menu.remove();
    }
    return owner;
  }
  document.addEventListener("click", (event) => { if (!event.target.closest(".menu")) closeMenus(); });
  // A menu placed on the window would stay behind when the list under it scrolls.
  list.addEventListener("scroll", () => closeMenus());
  window.addEventListener("resize", () => closeMenus());

  function dialButton(entry, label) {
    if (entry.can.dial) {
      return el("button", {
        type: "button", class: label === "Call back" ? "btn btn-primary" : "btn", text: t(label),
        onclick: () => act("POST", "/api/dial", { number: entry.number.e164 || entry.number.raw, line_id: entry.line.id }),
      });
    }
    if (entry.can.tel && entry.number.dial) {
      return el("a", { class: "btn", href: `tel:${entry.number.dial}`, text: t(label) });
    }
    return null;
  }

  const CLOSED = { called_back: "Called back", answered: "Answered later", done: "Done" };
  let day = "";

  function render(entry) {
    const [stateClass, stateText] = stateLabel(entry);
    const li = el("li", {
      class: "entry" + (entry.missed ? " missed" : "") + (entry.missed_open ? " open" : ""), "data-call": entry.id,
      "data-state": entry.state, tabindex: "-1",
    });
    li.appendChild(el("span", {
      class: `entry-icon ${entry.icon}`, role: "img", "aria-label": t(entry.icon_label), title: t(entry.icon_label),
    }, icon(entry.icon)));

    const number = entry.number.kind === "withheld" ? t("Number withheld") : entry.number.display || entry.number.raw || t("Unknown");
    li.appendChild(el("div", { class: "entry-top" },
      el("span", { class: "entry-number", text: number }),
      stateText ? el("span", { class: `entry-state ${stateClass}`, text: stateText }) : null,
      el("span", { class: "entry-time", text: when(entry) }),
      el("span", { class: "entry-duration", "data-duration": "", text: clock(liveDuration(entry)) }),
    ));

    const who = el("div", { class: "entry-who" });
    if (entry.address) {
      who.appendChild(withHint(el("a", {
        class: "addr", href: `/addresses/${entry.address.id}`, text: entry.address.name,
      }), entry.address.full_address));
      if (entry.address.match === "switchboard") {
        who.appendChild(el("span", { class: "approx", title: t("Found by the company's switchboard number"), text: t("via switchboard") }));
      }
    } else if (entry.colleague) {
      who.appendChild(el("span", { class: "addr", title: t("Colleague"), text: entry.colleague.name }));
    } else if (entry.number.kind === "withheld") {
      who.appendChild(el("span", { class: "unknown", text: t("Caller unknown") }));
    } else {
      who.appendChild(el("span", { class: "unknown", text: t("Not in your addresses") }));
    }
    if (entry.remote_name && (!entry.address || entry.remote_name !== entry.address.name)) {
      who.appendChild(el("span", { class: "remote-name", text: `“${entry.remote_name}”` }));
    }
    li.appendChild(who);

    const actions = el("div", { class: "entry-actions" });
    const add = (node) => node && actions.appendChild(node);
    if (entry.can.answer) add(el("button", { type: "button", class: "btn btn-ok", text: t("Answer"), onclick: () => act("POST", `/api/calls/${entry.id}/answer`) }));
    else if (entry.answer_note) add(el("span", { class: "muted answer-note", text: t(entry.answer_note) }));
    if (entry.can.hangup) {
      const label = entry.state === "ringing" ? t("Reject") : t("Hang up");
      add(el("button", { type: "button", class: "btn btn-danger", text: label, onclick: () => act("POST", `/api/calls/${entry.id}/hangup`) }));
    }
    if (entry.address) add(el("a", { class: "btn", href: `/addresses/${entry.address.id}`, text: t("Open") }));
    if (entry.can.choose_address) add(chooseButton(entry));
    if (entry.can.create_address) {
      add(el("a", { class: "btn", href: `/addresses/new?number=${encodeURIComponent(entry.number.display || entry.number.raw)}&call=${entry.id}`, text: t("Create address") }));
    }
    if (entry.can.call_back) add(dialButton(entry, "Call back"));
    else if (entry.state === "ended") add(dialButton(entry, "Call"));
    add(splitButton("Activity", "activities", entry));
    if (entry.can.service) add(splitButton("Service", "services", entry));
    if (entry.can.mark_done) {
      add(el("button", {
        type: "button", class: "btn", text: t("Done"), title: t("Needs no call back"),
        "aria-label": t("Mark done"),
        onclick: () => act("POST", `/api/calls/${entry.id}/done`),
      }));
    }
    if (entry.missed_closed) add(el("span", { class: "done", text: `✓ ${t(CLOSED[entry.missed_closed] || "Done")}` }));
    if (entry.activity_id) add(el("a", { class: "done", href: `/activities/${entry.activity_id}`, text: t("✓ Activity") }));
    if (entry.service_id) add(el("a", { class: "done", href: `/services/${entry.service_id}`, text: t("✓ Service") }));
    else if (entry.not_billable) add(el("span", { class: "done muted", title: t("Marked as not to be billed"), text: t("Not billable") }));
    li.appendChild(actions);
    return li;
  }

  function sortKey(entry) { return entry.started_at || ""; }

  function redraw() {
    hint.hidden = true;
    const sorted = [...entries.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : b.id - a.id));
    const focused = whereFocusIs();
    list.replaceChildren(...sorted.map(render));
    restoreFocus(focused);
    empty.hidden = sorted.length > 0;
    if (sorted.length) show();
    updatePage();
    updateTitle(sorted);
  }

  // An update redraws the list; the keyboard's place in it is kept (the same entry, the same
  // button), so someone working by keyboard is not thrown back to the top of the page.
  function whereFocusIs() {
    const active = document.activeElement;
    const li = active && active.closest ? active.closest(".journal-entries > .entry") : null;
    if (!li) return null;
    const focusables = [...li.querySelectorAll("a, button")];
    return { call: li.dataset.call, index: focusables.indexOf(active) };
  }
  function restoreFocus(focused) {
    if (!focused) return;
    const li = list.querySelector(`[data-call="${focused.call}"]`);
    if (!li) { list.querySelector(".entry")?.focus(); return; }
    const target = focused.index >= 0 ? li.querySelectorAll("a, button")[focused.index] : li;
    (target || li).focus();
  }

  // --- keyboard ---------------------------------------------------------------------------------
  // Alt+J (or the skip link at the top of every page) goes to the journal: opened, expanded, the
  // newest entry focused. Arrows move between entries; Escape goes back to where one was.
  let before = null;
  function goToJournal(callId) {
    if (!panel.contains(document.activeElement)) before = document.activeElement;
    show();
    if (geometry.collapsed) { geometry = { ...geometry, collapsed: false }; apply(); saveGeometry(); }
    const wanted = callId ? list.querySelector(`[data-call="${callId}"]`) : null;
    (wanted || list.querySelector(".entry") || panel.querySelector(".journal-dial input")).focus();
  }

  // --- never miss a ringing call -----------------------------------------------------------------
  // The tab's title shows a ringing call; with the tab hidden or another application in front, a
  // desktop notification does (the browser asks for permission once, from the journal's button).
  const pageTitle = document.title;
  function updateTitle(sorted) {
    const ringing = sorted.filter((e) => e.state === "ringing");
    const more = ringing.length > 1 ? ` (+${ringing.length - 1})` : "";
    document.title = ringing.length ? `☎ ${callerOf(ringing[0])}${more} · ${pageTitle}` : pageTitle;
  }
  const notices = new Map();
  const canNotify = "Notification" in window;
  const ask = el("button", { type: "button", class: "linkish journal-notify", text: t("Desktop notifications"), title: t("Be told of ringing calls while offhook is not in front") });
  ask.hidden = !canNotify || Notification.permission !== "default";
  ask.addEventListener("click", async () => {
    const answer = await Notification.requestPermission();
    ask.hidden = answer !== "default";
    if (answer === "denied") toast(t("Desktop notifications are blocked in this browser's site settings."), true);
  });
  panel.querySelector(".journal-foot").insertBefore(ask, conn);
  function notify(entry) {
    if (!canNotify || Notification.permission !== "granted") return;
    if (!document.hidden && document.hasFocus()) return;
    const number = entry.number.kind === "withheld" ? t("Number withheld") : entry.number.display || entry.number.raw || "";
    const name = entry.address ? entry.address.name : entry.colleague ? entry.colleague.name : entry.remote_name || t("Caller not in your addresses");
    try {
      const notice = new Notification(t("Call ringing: {caller}", { caller: name }), {
        body: `${number}${entry.line ? ` · ${entry.line.title}` : ""}`,
        tag: `offhook-call-${entry.id}`, requireInteraction: true, icon: "/static/favicon.svg",
      });
      notices.set(entry.id, notice);
      notice.addEventListener("click", () => { window.focus(); goToJournal(entry.id); notice.close(); });
      notice.addEventListener("close", () => notices.delete(entry.id));
    } catch (error) {
      // Some browsers only notify from a service worker; the title and the journal still show it.
    }
  }
  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyJ") {
      event.preventDefault();
      goToJournal();
    }
  });
  const skip = el("a", { class: "skip-link", href: "#journal", text: t("Go to the telephony journal (Alt+J)") });
  skip.addEventListener("click", (event) => { event.preventDefault(); goToJournal(); });
  document.body.prepend(skip);
  list.addEventListener("keydown", (event) => {
    if (event.target.closest(".menu")) return;
    const items = [...list.querySelectorAll(":scope > .entry")];
    const current = event.target.closest(".entry");
    const at = items.indexOf(current);
    let next = null;
    if (event.key === "ArrowDown") next = items[Math.min(at + 1, items.length - 1)];
    else if (event.key === "ArrowUp") next = items[Math.max(at - 1, 0)];
    else if (event.key === "Home") next = items[0];
    else if (event.key === "End") next = items[items.length - 1];
    if (next) { event.preventDefault(); next.focus(); }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented || event.target.closest(".menu")) return;
    if (before && document.contains(before)) { event.preventDefault(); before.focus(); before = null; }
  });

  // Ringing calls are announced to screen readers (the list itself is redrawn too often to be a
  // live region of its own).
  const announcer = document.getElementById("journal-announce");
  function announce(text) {
    announcer.textContent = "";
    // A new text in an emptied region is read even when it equals the one before.
    setTimeout(() => { announcer.textContent = text; }, 50);
  }
  function callerOf(entry) {
    const number = entry.number.kind === "withheld" ? t("number withheld") : entry.number.display || entry.number.raw || t("unknown number");
    const name = entry.address ? entry.address.name : entry.colleague ? entry.colleague.name : entry.remote_name;
    return name ? `${name}, ${number}` : number;
  }

  function upsert(entry) {
    const isNew = !entries.has(entry.id);
    const wasRinging = !isNew && entries.get(entry.id).state === "ringing";
    if (entry.state === "ringing" && !wasRinging) announce(t("Call ringing: {caller}", { caller: callerOf(entry) }));
    entries.set(entry.id, entry);
    redraw();
    if (isNew) list.querySelector(`[data-call="${entry.id}"]`)?.classList.add("fresh");
    // A new ringing call opens a collapsed journal (for now; what the user keeps is unchanged).
    if (isNew && entry.state === "ringing" && geometry.collapsed) { geometry = { ...geometry, collapsed: false }; apply(); }
    if (entry.state === "ringing" && !wasRinging) notify(entry);
    if (entry.state !== "ringing") notices.get(entry.id)?.close();
  }

  // Pages that show today's figures or line states (the Today page) follow the journal live.
  const BADGES = { connected: "badge-ok", failed: "badge-danger", connecting: "badge-warn", reconnecting: "badge-warn" };
  function updatePage(lines) {
    const all = [...entries.values()];
    const total = document.querySelector('[data-stat="calls-today"]');
    if (total) total.textContent = String(all.filter((e) => !day || e.date === day).length);
    // Missed calls count while they are open work, whichever day they came.
    const missed = all.filter((e) => e.missed_open).length;
    const missedBox = document.querySelector('[data-stat="missed-today"]');
    if (missedBox) {
      missedBox.hidden = missed === 0;
      missedBox.querySelector(".badge").textContent = t("{count} missed", { count: missed });
    }
    missedCount.hidden = missed === 0;
    missedCount.textContent = t("{count} missed", { count: missed });
    missedCount.title = missed === 1 ? t("1 missed call to call back") : t("{count} missed calls to call back", { count: missed });
    for (const line of lines || []) {
      const box = document.querySelector(`[data-line-status="${line.id}"]`);
      if (!box) continue;
      const badge = box.querySelector("[data-line-state]");
      badge.textContent = t(line.state);
      badge.className = `badge ${BADGES[line.state] || "badge-muted"}`;
      box.querySelector("[data-line-reason]").textContent = line.reason ? `(${line.reason_shown || line.reason})` : "";
    }
  }

  function renderLines(lines) {
    updatePage(lines);
    linesBox.replaceChildren(...lines.map((line) => el("span", {
      class: "line-pill", title: `${line.title}: ${t(line.state)}${line.reason ? ` (${line.reason_shown || line.reason})` : ""}`,
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
      day = data.day || "";
      for (const entry of data.entries) entries.set(entry.id, entry);
      lineStates = data.lines;
      renderLines(lineStates);
      redraw();
      retry = RETRY_FIRST;
      conn.textContent = t("live");
      conn.classList.remove("lost");
      panel.dataset.live = "true";
    });
    source.addEventListener("call", (event) => upsert(JSON.parse(event.data).entry));
    source.addEventListener("line", (event) => updateLine(JSON.parse(event.data).line));
    source.onerror = () => {
      source.close();
      conn.textContent = t("reconnecting…");
      conn.classList.add("lost");
      panel.dataset.live = "false";
      // Jitter, so the browsers of a restarted server do not all come back at the same moment.
      setTimeout(connect, retry * (0.75 + Math.random() / 2));
      retry = Math.min(retry * 2, RETRY_MAX);
    };
  }

  // --- placement ------------------------------------------------------------------------------
  // The panel sits in one of the window's four corners, below the navigation bar. Its size, corner
  // and whether it is collapsed are kept per user and per screen-size class (a phone, a tablet, a
  // desktop), so collapsing it on a phone leaves the desktop panel alone. What is shown is always
  // fitted to the window; fitting never changes what is kept. The page keeps room for the panel:
  // beside it when the window is wide enough, otherwise below (or above) the page's content.
  const CORNERS = ["top-left", "top-right", "bottom-left", "bottom-right"];
  const DEFAULT = { corner: "bottom-right", width: 420, height: 480, collapsed: false };
  const PAGE_MIN = 640;  // the narrowest page worth keeping beside the panel
  const root = document.documentElement;
  const kept = {};  // screen class -> geometry
  let geometry = { ...DEFAULT };

  function viewport() { return { w: root.clientWidth, h: root.clientHeight }; }
  function screenClass() {
    const w = window.innerWidth;
    return w < 600 ? "phone" : w < 1100 ? "tablet" : "desktop";
  }
  function topbarBottom() {
    const bar = document.querySelector(".topbar");
    if (!bar || getComputedStyle(bar).position !== "sticky") return 0;
    return Math.max(0, bar.getBoundingClientRect().bottom);
  }

  function fitted(g) {
    const vp = viewport(), top = topbarBottom();
    const phone = screenClass() === "phone";
    const edge = phone ? 8 : MARGIN;
    const corner = phone ? (g.corner.endsWith("left") ? "bottom-left" : "bottom-right") : (CORNERS.includes(g.corner) ? g.corner : DEFAULT.corner);
    const width = phone ? vp.w - 2 * edge : Math.min(Math.max(g.width || DEFAULT.width, 300), vp.w - 2 * edge);
    const wanted = phone ? Math.round(vp.h * 0.6) : g.height || DEFAULT.height;
    const height = Math.max(Math.min(Math.max(wanted, 160), vp.h - top - 2 * edge), Math.min(120, vp.h - top));
    return { corner, width, height, edge, top, phone, collapsed: Boolean(g.collapsed) };
  }

  function apply(temporary) {
    if (panel.hidden) { keepRoom(null); return; }
    const f = fitted(temporary || geometry);
    const [vertical, horizontal] = f.corner.split("-");
    const collapsed = f.collapsed;
    setCollapsed(collapsed);
    panel.dataset.corner = f.corner;
    panel.dataset.screen = screenClass();
    const style = { left: "auto", right: "auto", top: "auto", bottom: "auto" };
    style[horizontal] = `${f.edge}px`;
    style[vertical] = vertical === "top" ? `${f.top + f.edge}px` : `${f.edge}px`;
    style.width = `${collapsed && !f.phone ? Math.min(f.width, 300) : f.width}px`;
    style.height = collapsed ? "" : `${f.height}px`;
    style.maxHeight = `${viewport().h - f.top - 2 * f.edge}px`;
    Object.assign(panel.style, style);
    keepRoom(f);
  }

  // Room for the panel, as padding of the page (and scroll padding, so what the keyboard or a
  // link scrolls to is not left under the panel).
  function keepRoom(f) {
    const room = { top: 0, right: 0, bottom: 0, left: 0 };
    if (f) {
      const rect = panel.getBoundingClientRect();
      const [vertical, horizontal] = f.corner.split("-");
      const vp = viewport();
      if (!f.collapsed && !f.phone && vp.w - rect.width - 2 * f.edge >= PAGE_MIN) {
        room[horizontal] = rect.width + 2 * f.edge;
      } else {
        room[vertical] = rect.height + 2 * f.edge;
      }
    }
    for (const side of Object.keys(room)) root.style.setProperty(`--journal-room-${side}`, `${Math.round(room[side])}px`);
    root.classList.toggle("journal-open", Boolean(f));
  }

  async function loadGeometry() {
    const screen = screenClass();
    if (!kept[screen]) {
      const stored = await act("GET", `/api/preferences/journal-panel?screen=${screen}`);
      kept[screen] = stored && stored.width ? { ...DEFAULT, ...stored, corner: stored.corner || cornerOf(stored) } : { ...DEFAULT };
    }
    geometry = kept[screen];
    return geometry;
  }

  // Geometry kept before corners were: the corner nearest to where its centre was.
  function cornerOf(g) {
    if (!g.viewport_width) return DEFAULT.corner;
    const cx = (g.x + g.width / 2) / g.viewport_width, cy = (g.y + g.height / 2) / g.viewport_height;
    return `${cy < 0.5 ? "top" : "bottom"}-${cx < 0.5 ? "left" : "right"}`;
  }

  // Saves go one at a time: two requests in flight may be applied by the server in either
  // order, and an older size could win. While one is on its way, the newest geometry waits
  // and goes next.
  let saving = 0;
  let sending = false;
  let again = false;
  async function saveGeometry() {
    kept[screenClass()] = geometry;
    ++saving;
    if (sending) { again = true; return; }
    sending = true;
    try {
      do {
        again = false;
        const mine = saving;
        try {
          await sendGeometry();
          if (mine === saving) panel.dataset.saved = String(mine);
        } catch (error) {
          toast(t("Could not keep the journal's place: {error}", { error: error.message }), true);
        }
      } while (again);
    } finally {
      sending = false;
    }
  }

  async function sendGeometry() {
    const vp = viewport(), r = panel.getBoundingClientRect();
    const body = {
      ...geometry, screen: screenClass(), x: r.left, y: r.top,
      viewport_width: vp.w, viewport_height: vp.h,
    };
    // keepalive: a reload that follows at once does not cancel it.
    const response = await fetch("/api/preferences/journal-panel", {
      method: "PUT", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(t("The server answered {status}.", { status: response.status }));
  }

  function nearestCorner(rect) {
    const vp = viewport();
    const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
    return `${cy < vp.h / 2 ? "top" : "bottom"}-${cx < vp.w / 2 ? "left" : "right"}`;
  }

  function drag(handle, onMove, onDrop) {
    handle.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || (event.target.closest("button") && event.target.closest("button") !== handle)) return;
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
        onDrop();
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
      handle.addEventListener("pointercancel", up);
    });
  }
  // Moved freely while dragged, then into the nearest corner.
  drag(panel.querySelector(".journal-head"), (dx, dy, r) => {
    Object.assign(panel.style, { left: `${r.left + dx}px`, top: `${r.top + dy}px`, right: "auto", bottom: "auto" });
  }, () => {
    geometry = { ...geometry, corner: nearestCorner(panel.getBoundingClientRect()) };
    apply();
    saveGeometry();
  });
  // The handle sits in the corner away from the panel's own corner (see the stylesheet).
  let resized = null;
  drag(panel.querySelector(".journal-resize"), (dx, dy, r) => {
    const [vertical, horizontal] = geometry.corner.split("-");
    resized = {
      ...geometry,
      width: r.width + (horizontal === "left" ? dx : -dx),
      height: r.height + (vertical === "top" ? dy : -dy),
    };
    apply(resized);
  }, () => {
    if (resized) geometry = { ...resized, ...sizeOf() };
    resized = null;
    apply();
    saveGeometry();
  });
  function sizeOf() { const r = panel.getBoundingClientRect(); return { width: Math.round(r.width), height: Math.round(r.height) }; }

  const collapse = panel.querySelector(".journal-collapse");
  function setCollapsed(on) {
    panel.classList.toggle("collapsed", on);
    collapse.setAttribute("aria-expanded", String(!on));
    collapse.textContent = on ? "+" : "–";
    collapse.setAttribute("aria-label", on ? t("Expand journal") : t("Collapse journal"));
    collapse.title = on ? t("Expand") : t("Collapse");
  }
  function toggleCollapsed(on) {
    geometry = { ...geometry, collapsed: on };
    apply();
    saveGeometry();
  }
  collapse.addEventListener("click", () => toggleCollapsed(!panel.classList.contains("collapsed")));

  // --- the panel by keyboard -------------------------------------------------------------------
  // On the move button, arrows send the panel to the corner in that direction; on the resize
  // handle, arrows make it wider, narrower, taller or shorter.
  panel.querySelector(".journal-move").addEventListener("keydown", (event) => {
    const [vertical, horizontal] = geometry.corner.split("-");
    const to = { ArrowUp: ["top", horizontal], ArrowDown: ["bottom", horizontal], ArrowLeft: [vertical, "left"], ArrowRight: [vertical, "right"] }[event.key];
    if (!to) return;
    event.preventDefault();
    geometry = { ...geometry, corner: to.join("-") };
    apply();
    saveGeometry();
  });
  const STEP = 40;
  panel.querySelector(".journal-resize").addEventListener("keydown", (event) => {
    const change = { ArrowRight: [STEP, 0], ArrowLeft: [-STEP, 0], ArrowDown: [0, STEP], ArrowUp: [0, -STEP] }[event.key];
    if (!change) return;
    event.preventDefault();
    const now = sizeOf(), f = fitted(geometry);
    geometry = { ...geometry, width: now.width + change[0], height: (geometry.collapsed ? f.height : now.height) + change[1] };
    apply();
    geometry = { ...geometry, ...sizeOf() };
    saveGeometry();
  });

  function show() {
    if (!panel.hidden) return;
    panel.hidden = false;
    apply();
    panel.dataset.ready = "true";
  }

  let lastScreen = null;
  window.addEventListener("resize", async () => {
    const screen = screenClass();
    if (screen !== lastScreen) { lastScreen = screen; await loadGeometry(); }
    apply();
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
    lastScreen = screenClass();
    await loadGeometry();
    connect();
  })();
})();
