// The compose page: addresses from the city directory offered as they are typed (a combobox per
// address field), the attached files as chips (chosen, dropped or pasted) with their total against
// the limit (R5.1) before anything is uploaded, the draft saved every ten seconds while the person
// writes, the letter written with formatting (bold, lists, links, quotes) in an editor, and the letter
// sent in the background so that a refusal leaves it on the page as it was.
(function () {
  const form = document.getElementById("compose");
  if (!form) return;
  const english = document.documentElement.lang === "en";
  const errors = document.getElementById("compose-errors");
  if (errors) errors.focus(); // what stopped the sending is read out first

  // --- the letter with formatting: the editor (editor.js) in place of the textarea --------------
  // The editor posts the letter's HTML (body_html) and its words (body); the server cleans the HTML
  // again and writes the text alternative itself. Without the editor the textarea is the letter.
  const textarea = document.getElementById("body");
  const richField = document.getElementById("body-html");
  const editor = window.HopThuEditor
    ? window.HopThuEditor.mount(document.getElementById("editor-box"), textarea, () => {
        form.dispatchEvent(new Event("input")); // the draft has changed
      })
    : null;
  // The form's two fields for the letter, filled from the editor before anything reads the form.
  function syncBody() {
    if (!editor) return;
    richField.value = editor.getHTML();
    textarea.value = editor.getRoot().innerText;
  }

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

  // --- attached files: chips, against the limit (R5.1) ---------------------------------------
  // The files chosen, dropped or pasted live in `chosen`; the file field always holds the same
  // list (a DataTransfer's), so the form sends exactly what the chips show, script or not.
  const files = document.getElementById("files");
  const chips = document.getElementById("files-chosen");
  const total = document.getElementById("files-total");
  const tooBig = document.getElementById("files-too-big");
  const limit = Number(form.dataset.limit);
  const UNITS = [
    [1024 ** 4, "TB"],
    [1024 ** 3, "GB"],
    [1024 ** 2, "MB"],
    [1024, "KB"],
  ];
  let chosen = [];
  let leftOut = []; // files too big on their own, named until the next change

  form.classList.add("scripted"); // the chips replace the browser's "2 files"
  document.getElementById("files-drop").hidden = false;

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
    for (const file of chosen) sum += file.size;
    for (const box of form.querySelectorAll("input[name=keep]:checked")) sum += Number(box.dataset.size);
    return sum;
  }
  function sizeFits() {
    const sum = attached();
    const over = sum > limit;
    const said = leftOut.map((file) =>
      form.dataset.fileTooBig.replace("{name}", file.name).replace("{size}", size(file.size)),
    );
    if (over) said.push(form.dataset.tooBig.replace("{total}", size(sum)));
    total.textContent = form.dataset.total.replace("{total}", size(sum));
    tooBig.textContent = said.join(" ");
    tooBig.hidden = said.length === 0;
    files.setAttribute("aria-invalid", over ? "true" : "false");
    return !over;
  }

  function chip(file) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "chip-name";
    name.textContent = file.name;
    const weight = document.createElement("span");
    weight.className = "chip-size";
    weight.textContent = size(file.size);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("aria-label", form.dataset.remove.replace("{name}", file.name));
    remove.textContent = "×";
    remove.addEventListener("click", () => {
      const at = chosen.indexOf(file);
      chosen.splice(at, 1);
      leftOut = [];
      filesChanged();
      // The focus goes to the chip that took its place, or back to the file field.
      const next = chips.querySelectorAll(".chip-remove")[Math.min(at, chosen.length - 1)];
      (next || files).focus();
    });
    item.append(name, " ", weight, remove);
    return item;
  }
  function filesChanged() {
    const list = new DataTransfer();
    for (const file of chosen) list.items.add(file);
    files.files = list.files;
    chips.replaceChildren(...chosen.map(chip));
    chips.hidden = chosen.length === 0;
    sizeFits();
    checkFiles();
    form.dispatchEvent(new Event("input")); // the draft has changed
  }
  // Files from the picker, a drop or a paste join those already chosen; the same file twice is
  // kept once, and a file larger than the whole limit is named and left out.
  function add(added) {
    leftOut = [];
    for (const file of added) {
      const same = (other) =>
        other.name === file.name && other.size === file.size && other.lastModified === file.lastModified;
      if (file.size > limit) leftOut.push(file);
      else if (!chosen.some(same)) chosen.push(file);
    }
    filesChanged();
  }
  files.addEventListener("change", () => add([...files.files]));
  form.addEventListener("dragover", (event) => {
    if (!event.dataTransfer || !event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    form.classList.add("dropping");
  });
  form.addEventListener("dragleave", (event) => {
    if (!form.contains(event.relatedTarget)) form.classList.remove("dropping");
  });
  form.addEventListener("drop", (event) => {
    form.classList.remove("dropping");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault(); // the browser would otherwise open the file in place of the letter
    add([...event.dataTransfer.files]);
  });
  form.addEventListener("paste", (event) => {
    const pasted = event.clipboardData ? [...event.clipboardData.files] : [];
    if (!pasted.length) return; // text is pasted as usual
    event.preventDefault();
    add(pasted);
  });

  // --- each chosen file checked at once: a dangerous type (R13.2), a secrecy marking (R8.1) -------
  // Each file is asked about once; removing a chip only forgets its answer.
  const refused = document.getElementById("files-refused");
  const answers = new Map();
  let checking = 0;
  async function checkFiles() {
    const round = ++checking;
    for (const file of chosen) {
      if (answers.has(file)) continue;
      const data = new FormData();
      data.append("csrf", form.elements.namedItem("csrf").value);
      data.append("file", file);
      try {
        const answer = await fetch(form.dataset.checkFileUrl, { method: "POST", body: data });
        if (answer.ok) answers.set(file, (await answer.json()).problems); // else checked when sent
      } catch (error) {
        // the letter is checked again when it is sent
      }
      if (round !== checking) return; // other files were chosen meanwhile
    }
    const found = chosen.flatMap((file) => answers.get(file) || []);
    refused.replaceChildren(
      ...found.map((problem) => {
        const item = document.createElement("li");
        item.textContent = english ? problem.en : problem.vi;
        return item;
      }),
    );
    refused.hidden = found.length === 0;
  }
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
    syncBody();
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
    if (event.target === files) return; // filesChanged says so once the chips are drawn
    changed = true;
    later();
  });

  // --- sending: a refusal leaves the letter on the page, files and all ---------------------------
  const sendButton = document.getElementById("send");

  function showErrors(title, problems) {
    let box = document.getElementById("compose-errors");
    if (!box) {
      box = document.createElement("div");
      box.id = "compose-errors";
      box.className = "error";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      form.before(box);
    }
    const heading = document.createElement("p");
    heading.textContent = title;
    const list = document.createElement("ul");
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem;
      list.append(item);
    }
    box.replaceChildren(heading, list);
    box.focus();
  }
  // Kept files the server no longer finds (their message was deleted or moved) leave the page.
  function dropGone(gone) {
    for (const box of form.querySelectorAll("input[name=keep]")) {
      if (gone.includes(box.value)) box.closest("li").remove();
    }
    sizeFits();
  }
  async function sendLetter() {
    sendButton.disabled = true;
    status.textContent = form.dataset.sending;
    let result = null;
    let failure = form.dataset.offline;
    try {
      const answer = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      result = await answer.json().catch(() => null);
      failure = form.dataset.failed.replace("{status}", answer.status);
    } catch (error) {
      // the server could not be reached: said below, the letter stays
    }
    if (result && result.location) {
      window.location.assign(result.location);
      return;
    }
    sendButton.disabled = false;
    status.textContent = "";
    leaving = false;
    if (result && result.errors) {
      dropGone(result.gone || []);
      showErrors(result.title, result.errors);
    } else {
      showErrors(failure, []);
    }
  }

  form.addEventListener("submit", (event) => {
    syncBody();
    if (!sizeFits()) {
      event.preventDefault();
      tooBig.focus();
      return;
    }
    clearTimeout(timer);
    timer = null;
    leaving = true;
    const submitter = event.submitter;
    if (saving) {
      // A save on its way would leave a draft behind: send once it is back (with its UID).
      event.preventDefault();
      saving.finally(() => form.requestSubmit(submitter));
    } else if (submitter === sendButton) {
      event.preventDefault();
      sendLetter();
    }
  });
  // Back from the browser's history cache: the page lives again.
  window.addEventListener("pageshow", () => {
    leaving = false;
  });
})();
