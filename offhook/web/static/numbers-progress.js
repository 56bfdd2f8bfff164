// Settings › Phone numbers: follow a run of "Normalize phone numbers" until it ends.
(function () {
  "use strict";
  const box = document.querySelector("[data-normalize-progress]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");

  async function poll() {
    let data;
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (error) {
      setTimeout(poll, 3000); // the server may be restarting: it continues the run by itself
      return;
    }
    bar.max = Math.max(data.total, 1);
    bar.value = data.done;
    text.textContent = data.text;
    if (data.running) {
      setTimeout(poll, 1000);
    } else {
      window.location.reload(); // the report below is now complete
    }
  }
  setTimeout(poll, 1000);
})();
