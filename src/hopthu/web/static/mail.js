// The message list: "choose all", and live news from the server (server-sent events): the list
// reloads itself when nothing is chosen, otherwise it says new mail came and waits for the person.
(function () {
  const form = document.getElementById("list-form");
  if (!form) return;
  const all = document.getElementById("all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of form.querySelectorAll("input[name=uid]")) box.checked = all.checked;
    });
  }
  const mailbox = form.dataset.mailbox;
  const firstPage = !new URLSearchParams(location.search).has("tu");
  const events = new EventSource("/su-kien");
  // Leaving the page (opening a message) must not be undone by a reload the news would start.
  window.addEventListener("beforeunload", () => events.close());
  events.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    if (change.mailbox !== null && String(change.mailbox) !== mailbox) return;
    const chosen = form.querySelector("input[name=uid]:checked");
    if (!chosen && firstPage) {
      events.close();
      location.reload();
    } else {
      document.getElementById("news").hidden = false;
    }
  });
})();
