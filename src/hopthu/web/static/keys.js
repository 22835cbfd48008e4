// Keyboard shortcuts of the webmail (documented at /tro-giup/phim-tat). Each shortcut presses an
// element the page already has (a link, a button, a checkbox), so a key does exactly what the mouse
// would and no address is written twice. Keys never fire while the person types in a field or holds
// Ctrl, Alt or Meta: the browser's and the system's own shortcuts stay theirs.
(function () {
  const typing = (el) =>
    el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const rows = () => [...document.querySelectorAll("table.messages tbody tr")];
  let current = -1;

  // The chosen row is marked (key-current) and its subject link takes the focus, so the outline of
  // :focus-visible shows where the person is and Enter follows the link as it always does.
  const move = (step) => {
    const all = rows();
    if (!all.length) return;
    current = current < 0 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    all.forEach((row, i) => row.classList.toggle("key-current", i === current));
    const link = subject(all[current]);
    if (link) link.focus();
    all[current].scrollIntoView({ block: "nearest" });
  };
  // The subject's link: the one in the cell holding the preview (a search result links to its
  // folder first).
  const subject = (row) => {
    const preview = row && row.querySelector(".preview");
    return preview ? preview.parentElement.querySelector("a[href]") : null;
  };
  const currentRow = () => (current >= 0 ? rows()[current] : null);
  const click = (selector) => {
    const el = document.querySelector(selector);
    if (!el) return false;
    el.click();
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    // On the compose page a stray key must not leave a letter being written.
    if (document.querySelector("form.compose")) return;
    const inList = document.querySelector("table.messages") !== null;
    const reading = document.querySelector("article.reading") !== null;
    const inRows = event.target.closest && event.target.closest("table.messages tbody");
    const atRest = event.target === document.body || event.target.id === "main" || inRows;
    let done = true;
    switch (event.key) {
      case "j":
        if (inList) move(1); else done = false;
        break;
      case "k":
        if (inList) move(-1); else done = false;
        break;
      case "ArrowDown":
      case "ArrowUp":
        // Arrows scroll the page as usual, unless the person is on the list already.
        if (inList && atRest) move(event.key === "ArrowDown" ? 1 : -1); else done = false;
        break;
      case "o":
      case "Enter": {
        const row = currentRow();
        // Enter on the subject link (where move() put the focus) follows it by itself; on any other
        // link or button it does what that element does.
        const link = subject(row);
        if (link && (event.key === "o" || !inRows) && atRest) link.click(); else done = false;
        break;
      }
      case "x": {
        const row = currentRow();
        const box = row && row.querySelector("input[type=checkbox]");
        if (box) box.click(); else done = false;
        break;
      }
      case "#": {
        const form = document.getElementById("list-form");
        const remove = form && form.querySelector("button[name=action][value=delete]");
        if (!remove) { done = false; break; }
        if (!form.querySelector("input[name=uid]:checked")) {
          const box = currentRow() && currentRow().querySelector("input[name=uid]");
          if (!box) break;
          box.checked = true;
        }
        remove.click();
        break;
      }
      case "c":
        done = click(".compose-link a");
        break;
      case "/": {
        const box = document.getElementById("search-box") || document.getElementById("search-q");
        if (box) box.focus(); else done = false;
        break;
      }
      case "?":
        location.assign("/tro-giup/phim-tat");
        break;
      case "r":
        done = reading && click(".reading .toolbar a[href*='kieu=tra-loi&']");
        break;
      case "a":
        done = reading && click(".reading .toolbar a[href*='kieu=tra-loi-tat-ca']");
        break;
      case "f":
        done = reading && click(".reading .toolbar a[href*='kieu=chuyen-tiep']");
        break;
      case "u":
        done = reading && click(".reading .back a");
        break;
      default:
        done = false;
    }
    if (done) event.preventDefault();
  });
})();
