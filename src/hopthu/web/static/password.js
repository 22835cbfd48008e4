// R5.3 checked as the person types; the server checks again (policy/passwords.py).
(function () {
  const form = document.getElementById("password-form");
  if (!form) return;
  const fresh = form.querySelector("#new");
  const again = form.querySelector("#again");
  // The words of the person's name, folded as the server folds them (no case, no diacritics).
  const personal = (form.dataset.personal || "").split(" ").filter(Boolean);
  const fold = (v) => v.toLowerCase().replace(/đ/g, "d").normalize("NFD").replace(/\p{M}/gu, "");
  const tests = {
    length: (v) => [...v].length >= 8,
    upper: (v) => /\p{Lu}/u.test(v),
    lower: (v) => /\p{Ll}/u.test(v),
    digit: (v) => /\p{Nd}/u.test(v),
    special: (v) => /[^\p{L}\p{N}\s\p{C}]/u.test(v),
    personal: (v) => v.length > 0 && !personal.some((word) => fold(v).includes(word)),
    same: (v) => v.length > 0 && v === again.value,
  };
  function update() {
    const value = fresh.value.normalize("NFC");
    for (const item of form.querySelectorAll("[data-rule]")) {
      item.classList.toggle("met", tests[item.dataset.rule](value));
    }
  }
  fresh.addEventListener("input", update);
  again.addEventListener("input", update);
  update();
})();
