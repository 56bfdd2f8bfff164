// A short message at the top of the page, for the journal and the CRM pages alike. Loaded first
// (head, deferred), so the scripts after it find `offhookToast`. The text is set as text, never
// as markup: it may hold a caller's name.
window.offhookToast = function toast(text, isError) {
  "use strict";
  const box = document.createElement("div");
  box.className = "toast" + (isError ? " error" : "");
  box.setAttribute("role", isError ? "alert" : "status");
  box.textContent = text;
  document.body.appendChild(box);
  // An error stays longer: it is read, not glanced at.
  setTimeout(() => box.remove(), isError ? 6000 : 3500);
};

// A text of a driver's page script in the user's language: the page hands the translations over
// (offhook-texts, from `Driver.page_texts`); `{name}` parts are filled in from `parts`.
window.offhookText = function text(english, parts) {
  "use strict";
  const box = document.getElementById("offhook-texts");
  if (!window.offhookText.texts) window.offhookText.texts = box ? JSON.parse(box.textContent) : {};
  let shown = window.offhookText.texts[english] || english;
  for (const [name, value] of Object.entries(parts || {})) shown = shown.split(`{${name}}`).join(String(value));
  return shown;
};
