// offhook CRM pages: rows of numbers in the address form, pickers for companies and addresses,
// "Call" buttons, and date fields that apply at once. Texts from the server are set with
// textContent or as option values, never as markup.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  const toast = window.offhookToast;  // toast.js
  const T = window.offhookText;  // its texts in the user's language (journal_texts.PAGE_TEXTS)

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`The server answered ${response.status}.`);
    return response.json();
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // --- numbers and e-mail addresses of an address --------------------------------------------------
  const rows = document.querySelector("[data-channels]");
  const rowTemplate = document.getElementById("channel-row");
  if (rows && rowTemplate) {
    document.querySelector("[data-channel-add]")?.addEventListener("click", () => {
      rows.appendChild(rowTemplate.content.cloneNode(true));
      const added = rows.lastElementChild;
      added?.querySelector('input[name="ch_value"]')?.focus();
    });
    rows.addEventListener("click", (event) => {
      const button = event.target.closest("[data-channel-remove]");
      if (!button) return;
      const row = button.closest("tr");
      if (rows.children.length > 1) {
        row.remove();
      } else {
        // Keep one row to type into; emptied, it is not saved.
        for (const input of row.querySelectorAll('input:not([type="hidden"])')) input.value = "";
        row.querySelector('input[name="ch_id"]').value = "";
      }
    });
  }

  // --- pickers: a name typed with suggestions, the id of the one picked kept beside it ------------
  // The datalist's option values are what the user sees; the id of each is remembered here.
  function picker(input, hidden, source, describe, onPick) {
    const list = document.getElementById(input.getAttribute("list"));
    const known = new Map();
    for (const option of list.querySelectorAll("option")) {
      if (option.dataset.id) known.set(option.value, option.dataset.id);
    }
    const refresh = debounce(async () => {
      const q = input.value.trim();
      if (!q) return;
      let items;
      try { items = await getJSON(source(q)); } catch { return; }
      const seen = new Set();
      const options = [];
      for (const item of items) {
        let label = item.name;
        if (seen.has(label)) label = `${item.name} (${item.city || "#" + item.id})`;
        seen.add(label);
        known.set(label, String(item.id));
        const option = document.createElement("option");
        option.value = label;
        option.textContent = describe(item);
        options.push(option);
      }
      list.replaceChildren(...options);
      sync();
    }, 150);
    function sync() {
      const id = known.get(input.value) || "";
      const changed = hidden.value !== id;
      hidden.value = id;
      input.setCustomValidity("");
      if (changed && onPick) onPick(id);
    }
    input.addEventListener("input", () => { sync(); refresh(); });
    input.addEventListener("change", sync);
  }

  const company = document.querySelector("[data-company-picker]");
  if (company) {
    picker(company, company.form.elements.company_id, (q) => `/api/companies?q=${encodeURIComponent(q)}`,
      (item) => item.city || "");
  }

  // In activity and service forms: the address's projects are offered first.
  async function reorderProjects(select, addressId) {
    const query = addressId ? `?address_id=${encodeURIComponent(addressId)}` : "";
    let projects;
    try { projects = await getJSON(`/api/projects${query}`); } catch { return; }
    const current = select.value;
    const currentOption = [...select.options].find((o) => o.value === current && current);
    const groups = [];
    const group = (label, items) => {
      if (!items.length) return;
      const node = document.createElement("optgroup");
      node.label = label;
      for (const p of items) {
        const option = document.createElement("option");
        option.value = String(p.id);
        option.textContent = `${p.code} · ${p.description}`;
        node.appendChild(option);
      }
      groups.push(node);
    };
    const own = projects.filter((p) => p.own), others = projects.filter((p) => !p.own);
    const addressName = document.querySelector("[data-address-picker]")?.value || T("this address");
    group(T("Projects of {name}", { name: addressName }), own);
    group(own.length ? T("Other projects") : T("Projects"), others);
    const none = document.createElement("option");
    none.value = "";
    none.textContent = T("(no project)");
    select.replaceChildren(none, ...groups);
    if (current && ![...select.options].some((o) => o.value === current) && currentOption) {
      select.appendChild(currentOption);
    }
    select.value = current;
  }

  const address = document.querySelector("[data-address-picker]");
  if (address) {
    const projects = address.form.querySelector("[data-projects]");
    picker(address, address.form.elements.address_id, (q) => `/addresses/suggest?q=${encodeURIComponent(q)}`,
      (item) => item.city || "", (id) => { if (projects) reorderProjects(projects, id); });
  }

  // --- calling a number on one of the user's lines -------------------------------------------------
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("[data-dial]");
    if (!link) return;
    event.preventDefault();
    link.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/api/dial", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ number: link.dataset.dial }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.detail || T("The server answered {status}.", { status: response.status }));
      toast(T("Calling {number} …", { number: link.dataset.label || link.dataset.dial }));
    } catch (error) {
      toast(T("Could not call: {error}", { error: error.message }), true);
    } finally {
      link.removeAttribute("aria-busy");
    }
  });

  // --- dates: typed as dd.mm.yyyy, or picked in the browser's calendar ------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  function toIso(text) {
    const m = /^(\d{1,2})[./](\d{1,2})[./](\d{2}|\d{4})$/.exec(text.trim());
    if (!m) return /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? text.trim() : "";
    const year = m[3].length === 2 ? `20${m[3]}` : m[3];
    return `${year}-${pad(m[2])}-${pad(m[1])}`;
  }
  function fromIso(iso) {
    const [y, m, d] = iso.split("-");
    return `${d}.${m}.${y}`;
  }
  for (const box of document.querySelectorAll(".date-input")) {
    const text = box.querySelector("[data-date-text]");
    const proxy = box.querySelector(".date-proxy");
    const submit = () => { if (text.hasAttribute("data-autosubmit") && text.value) text.form.requestSubmit(); };
    box.querySelector("[data-date-button]").addEventListener("click", () => {
      proxy.value = toIso(text.value);
      try { proxy.showPicker(); } catch { text.focus(); }
    });
    proxy.addEventListener("change", () => {
      if (!proxy.value) return;
      text.value = fromIso(proxy.value);
      text.dispatchEvent(new Event("input", { bubbles: true }));
      submit();
    });
    text.addEventListener("change", submit);
  }
})();
