// The webmail's editor, for a letter (compose.js) and a signature (the settings page): Squire with
// a toolbar of buttons (data-command) in place of a textarea. The server cleans the HTML again,
// whatever this lets through.
window.HopThuEditor = (function () {
  // What is pasted or loaded goes through DOMPurify first: a table from Word stays a plain table,
  // its styles, classes, o:p elements and comments are left behind (styles in attributes would also
  // be refused by the page's Content-Security-Policy).
  const PASTED = {
    ALLOWED_TAGS: [
      "a", "b", "strong", "i", "em", "u", "s", "p", "div", "br", "span", "ul", "ol", "li",
      "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tfoot",
      "tr", "td", "th", "caption", "hr", "sub", "sup",
    ],
    ALLOWED_ATTR: ["href", "colspan", "rowspan"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
    KEEP_CONTENT: true,
    RETURN_DOM_FRAGMENT: true,
  };
  // Style elements and attributes are taken out of the text before DOMPurify parses it: the parsed
  // document shares the page's policy, and each one would be reported as a refused inline style.
  // DOMPurify (and then the server) remain the fences; this only spares the console.
  function unstyled(html) {
    let text = html.replace(/<style\b[\s\S]*?<\/style\s*>/gi, "");
    for (let before = ""; before !== text; ) {
      before = text;
      text = text.replace(/(<[a-z][^<>]*?)\sstyle\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi, "$1");
    }
    return text;
  }
  // Squire in place of `textarea` (its box holds the toolbar and the editing area, hidden until now);
  // `changed` hears of every change. The editor, or null without the libraries.
  function mount(box, textarea, changed) {
    if (!box || !window.Squire || !window.DOMPurify) return null;
    const area = box.querySelector(".editor-area");
    // The editor takes the textarea's id, so its label and the page's drop and paste keep working.
    const id = textarea.id;
    textarea.id = id + "-text";
    textarea.hidden = true;
    area.id = id;
    area.setAttribute("aria-labelledby", area.dataset.labelled);
    box.hidden = false;
    const editor = new window.Squire(area, {
      blockTag: "DIV",
      sanitizeToDOMFragment: (html) => window.DOMPurify.sanitize(unstyled(html), PASTED),
    });
    editor.setHTML(box.dataset.html || "<div><br></div>");
    const buttons = [...box.querySelectorAll("button[data-command]")];
    const FORMATS = { bold: "B", italic: "I", ul: "UL", ol: "OL", link: "A", quote: "BLOCKQUOTE" };
    const ACTIONS = {
      bold: () => (editor.hasFormat("B") ? editor.removeBold() : editor.bold()),
      italic: () => (editor.hasFormat("I") ? editor.removeItalic() : editor.italic()),
      ul: () => (editor.hasFormat("UL") ? editor.removeList() : editor.makeUnorderedList()),
      ol: () => (editor.hasFormat("OL") ? editor.removeList() : editor.makeOrderedList()),
      quote: () => (editor.hasFormat("BLOCKQUOTE") ? editor.decreaseQuoteLevel() : editor.increaseQuoteLevel()),
      undo: () => editor.undo(),
      redo: () => editor.redo(),
      link: () => {
        if (editor.hasFormat("A")) return editor.removeLink();
        const url = (window.prompt(box.dataset.linkPrompt, "https://") || "").trim();
        if (/^(?:https?:\/\/.+|mailto:.+)$/i.test(url)) editor.makeLink(url);
        else if (/^[^\s:/]+\.[^\s]+$/.test(url)) editor.makeLink("https://" + url);
      },
    };
    function pressed() {
      for (const button of buttons) {
        const format = FORMATS[button.dataset.command];
        if (format) button.setAttribute("aria-pressed", editor.hasFormat(format) ? "true" : "false");
      }
    }
    for (const button of buttons) {
      // mousedown would take the selection out of the editor before the command sees it
      button.addEventListener("mousedown", (event) => event.preventDefault());
      button.addEventListener("click", () => {
        ACTIONS[button.dataset.command]();
        editor.focus();
        pressed();
        changedRich();
      });
    }
    function changedRich() {
      changed();
    }
    editor.addEventListener("pathChange", pressed);
    editor.addEventListener("input", changedRich);
    editor.addEventListener("undoStateChange", changedRich);
    return editor;
  }
  return { mount };
})();
