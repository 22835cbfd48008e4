// The compose page: addresses from the city directory offered as they are typed (a combobox per
// address field), the attached files' total against the limit (R5.1) before anything is uploaded,
// and the draft saved every ten seconds while the person writes.
(function () {
  const form = document.getElementById("compose");
  if (!form) return;
  const english = document.documentElement.lang === "en";
  const errors = document.getElementById("compose-errors");
  if (errors) errors.focus(); // what stopped the sending is read out first

  // --- addresses from the directory ---------------------------------------------------------
  function lastPiece(value) {
    const cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    return { head: value.slice(0, cut + 1), piece: value.slice(cut + 1).trim() };
  }

  // A name bare when the address field reads it back unchanged (parentheses included, as the
  // directory writes agencies), quoted otherwise: the rule of `mail.recipients.person_text`.
  function balanced(name) {
    let depth = 0;
    for (const ch of name) {
      depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
      if (depth !== 0 && depth !== 1) return false;
    }
    return depth === 0 && !name.startsWith("(");
  }
  function quoted(name) {
    const bare = !/[",;:<>@[\]\\]|=\?/.test(name) && balanced(name);
    return bare ? name : '"' + name.replace(/["\\]/g, "\\$&") + '"';
  }

  function combobox(input) {
    const list = document.getElementById(input.getAttribute("aria-controls"));
    let found = [];
    let active = -1;
    let timer = null;
    let asked = 0;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      found = [];
      active = -1;
    }
    function show(people) {
      list.replaceChildren();
      found = people;
      active = -1;
      people.forEach((person, n) => {
        const option = document.createElement("li");
        option.id = list.id + "-" + n;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent =
          person.name + " <" + person.address + ">" + (person.agency ? " · " + person.agency : "");
        // mousedown, not click: the field keeps the focus
        option.addEventListener("mousedown", (event) => {
          event.preventDefault();
          choose(n);
        });
        list.append(option);
      });
      list.hidden = people.length === 0;
      input.setAttribute("aria-expanded", people.length ? "true" : "false");
    }
    function mark(n) {
      active = n;
      for (const [i, option] of [...list.children].entries()) {
        option.setAttribute("aria-selected", i === n ? "true" : "false");
        if (i === n) option.scrollIntoView({ block: "nearest" });
      }
      input.setAttribute("aria-activedescendant", list.id + "-" + n);
    }
    function choose(n) {
      const person = found[n];
      const head = lastPiece(input.value).head.trim();
      input.value = (head ? head + " " : "") + quoted(person.name) + " <" + person.address + ">, ";
      close();
      input.focus();
      form.dispatchEvent(new Event("input")); // the draft has changed
    }
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const piece = lastPiece(input.value).piece;
      if (piece.length < 2) {
        asked++;
        close();
        return;
      }
      timer = setTimeout(async () => {
        const mine = ++asked;
        try {
          const answer = await fetch(input.dataset.directory + "?q=" + encodeURIComponent(piece), {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
          });
          if (!answer.ok) return;
          const people = await answer.json();
          if (mine === asked && document.activeElement === input) show(people);
        } catch (error) {
          // the directory helps; typing the address still works without it
        }
      }, 200);
    });
    input.addEventListener("keydown", (event) => {
      if (list.hidden || !found.length) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        mark((active + 1) % found.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        mark((active - 1 + found.length) % found.length);
      } else if (event.key === "Enter") {
        event.preventDefault();
        choose(Math.max(active, 0));
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }
  for (const input of form.querySelectorAll("input[data-directory]")) combobox(input);
  // Enter in a one-line field never sends the letter by mistake; the Send button does.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("input[type=text]")) event.preventDefault();
  });

  // --- attached files against the limit (R5.1) -----------------------------------------------
  const files = document.getElementById("files");
  const total = document.getElementById("files-total");
  const tooBig = document.getElementById("files-too-big");
  const limit = Number(form.dataset.limit);
  const UNITS = [
    [1024 ** 4, "TB"],
    [1024 ** 3, "GB"],
    [1024 ** 2, "MB"],
    [1024, "KB"],
  ];

  // As the server writes sizes (policy.quota.format_size): one decimal at most, binary units.
  function size(bytes) {
    for (const [unit, label] of UNITS) {
      const tenths = Math.floor((bytes * 10 + Math.floor(unit / 2)) / unit);
      if (tenths >= 10) {
        const whole = Math.floor(tenths / 10);
        const tenth = tenths % 10;
        return (tenth ? whole + (english ? "." : ",") + tenth : String(whole)) + " " + label;
      }
    }
    return bytes + " B";
  }
  function attached() {
    let sum = 0;
    for (const file of files.files) sum += file.size;
    for (const box of form.querySelectorAll("input[name=keep]:checked")) sum += Number(box.dataset.size);
    return sum;
  }
  function sizeFits() {
    const sum = attached();
    const over = sum > limit;
    total.textContent = form.dataset.total.replace("{total}", size(sum));
    if (over) tooBig.textContent = form.dataset.tooBig.replace("{total}", size(sum));
    tooBig.hidden = !over;
    files.setAttribute("aria-invalid", over ? "true" : "false");
    return !over;
  }
  files.addEventListener("change", sizeFits);

  // --- each chosen file checked at once: a dangerous type (R13.2), a secrecy marking (R8.1) -------
  const refused = document.getElementById("files-refused");
  let checking = 0;
  async function checkFiles() {
    const round = ++checking;
    const found = [];
    for (const file of files.files) {
      const data = new FormData();
      data.append("csrf", form.elements.namedItem("csrf").value);
      data.append("file", file);
      try {
        const answer = await fetch(form.dataset.checkFileUrl, { method: "POST", body: data });
        if (!answer.ok) continue; // the letter is checked again when it is sent
        for (const problem of (await answer.json()).problems) found.push(english ? problem.en : problem.vi);
      } catch (error) {
        continue;
      }
      if (round !== checking) return; // other files were chosen meanwhile
    }
    if (round !== checking) return;
    refused.replaceChildren(
      ...found.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }),
    );
    refused.hidden = found.length === 0;
  }
  files.addEventListener("change", checkFiles);
  form.addEventListener("change", (event) => {
    if (event.target.name === "keep") sizeFits();
  });
  if (form.querySelector("input[name=keep]")) sizeFits();

  // --- the draft, saved while the person writes ----------------------------------------------
  const SAVE_EVERY = 10000;
  const draft = form.elements.namedItem("draft");
  const status = document.getElementById("draft-status");
  let changed = false;
  let timer = null;
  let saving = null;
  let leaving = false;

  function later() {
    if (!timer && !leaving) timer = setTimeout(save, SAVE_EVERY);
  }
  function save() {
    timer = null;
    if (leaving || !changed || saving) return;
    changed = false;
    const data = new FormData(form);
    data.delete("files"); // new files are uploaded when the letter is sent or saved by the button
    saving = fetch(form.dataset.draftUrl, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(async (answer) => {
        const result = await answer.json().catch(() => ({}));
        if (!answer.ok) throw new Error(result.error || "");
        draft.value = result.draft;
        // The files now live in the new draft; those dropped from the old one are gone with it.
        let n = 0;
        for (const box of [...form.querySelectorAll("input[name=keep]")]) {
          if (box.checked) box.value = result.keep[n++];
          else if (box.value.startsWith(form.dataset.drafts + ":")) box.closest("li").remove();
        }
        status.textContent =
          form.dataset.saved.replace("{time}", result.saved) + (result.warning ? " " + result.warning : "");
      })
      .catch((error) => {
        changed = true;
        status.textContent = error.message || form.dataset.unsaved;
      })
      .finally(() => {
        saving = null;
        if (changed) later();
      });
  }
  form.addEventListener("input", (event) => {
    if (event.target === files) return;
    changed = true;
    later();
  });

  form.addEventListener("submit", (event) => {
    if (!sizeFits()) {
      event.preventDefault();
      tooBig.focus();
      return;
    }
    clearTimeout(timer);
    timer = null;
    leaving = true;
    if (saving) {
      // A save on its way would leave a draft behind: send once it is back (with its UID).
      event.preventDefault();
      const submitter = event.submitter;
      saving.finally(() => form.requestSubmit(submitter));
    }
  });
  // Back from the browser's history cache: the page lives again.
  window.addEventListener("pageshow", () => {
    leaving = false;
  });
})();
