// A small accessibility check run inside the page: the rules of WCAG 2.1 AA a person notices first.
// Returns a list of problems, each a short sentence naming the element; an empty list passes.
() => {
  const problems = [];
  const shown = (el) => {
    const style = getComputedStyle(el);
    return style.display !== "none" && style.visibility !== "hidden" && el.getClientRects().length > 0;
  };
  const describe = (el) => el.outerHTML.slice(0, 120);
  const nameOf = (el) => {
    const labelled = el.getAttribute("aria-labelledby");
    if (labelled) return labelled.split(/\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ").trim();
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label").trim();
    if (el.id) {
      const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (label) return label.textContent.trim();
    }
    const wrapping = el.closest("label");
    if (wrapping) return wrapping.textContent.trim();
    if (["BUTTON", "A", "SUMMARY", "OPTION"].includes(el.tagName)) return (el.innerText || el.textContent).trim();
    if (el.tagName === "INPUT" && ["submit", "button"].includes(el.type)) return (el.value || "").trim();
    return (el.getAttribute("title") || "").trim();
  };

  if (!document.documentElement.lang) problems.push("<html> has no lang");
  if (!document.title.trim()) problems.push("the page has no title");
  const headings = [...document.querySelectorAll("h1")].filter(shown);
  if (headings.length !== 1) problems.push(`${headings.length} visible <h1> (one expected)`);
  if (!document.querySelector("main")) problems.push("no <main> landmark");

  const ids = new Map();
  for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`id "${id}" is used ${count} times`);

  for (const el of document.querySelectorAll("input, select, textarea, button, a[href], summary")) {
    if (el.type === "hidden" || !shown(el)) continue;
    if (!nameOf(el)) problems.push(`no accessible name: ${describe(el)}`);
    if (el.tabIndex < 0 && !el.disabled) problems.push(`cannot be reached with the keyboard: ${describe(el)}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`image without alt: ${describe(img)}`);
  }

  // Contrast of the text actually shown, against the first opaque background behind it.
  const rgb = (text) => {
    const parts = text.match(/[\d.]+/g).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const luminance = ({ r, g, b }) => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.a >= 0.99) return color;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checked = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || checked.has(el) || !shown(el)) continue;
    checked.add(el);
    if (el.closest(".skip, option, [aria-hidden=true]") || el.disabled) continue;
    const style = getComputedStyle(el);
    const fore = rgb(style.color);
    const back = background(el);
    const mixed = { r: fore.r * fore.a + back.r * (1 - fore.a), g: fore.g * fore.a + back.g * (1 - fore.a),
                    b: fore.b * fore.a + back.b * (1 - fore.a) };
    const [light, dark] = [luminance(mixed), luminance(back)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}:1 for "${el.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
}
