// The folder menu of a phone: on a narrow screen the folders, the shared mailboxes and the quota fold
// behind one button, so a message list or a message's text starts on the first screen. On a wide
// screen (or without this script) they are always shown.
(function () {
  const sidebar = document.getElementById("sidebar");
  const toggle = sidebar && sidebar.querySelector(".menu-toggle");
  if (!toggle) return;
  const narrow = window.matchMedia("(max-width: 48rem)");
  const show = (open) => {
    sidebar.classList.toggle("folded", !open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.hidden = false;
  show(!narrow.matches);
  narrow.addEventListener("change", () => show(!narrow.matches));
  toggle.addEventListener("click", () => show(sidebar.classList.contains("folded")));
})();
