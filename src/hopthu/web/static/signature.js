// The signature on the settings page, written in the letter's editor (editor.js): its HTML goes in
// signature_html and its words in the textarea, read by the server when the form is sent.
(function () {
  const box = document.getElementById("signature-box");
  const textarea = document.getElementById("signature");
  const rich = document.getElementById("signature-html");
  if (!box || !textarea || !rich || !window.HopThuEditor) return;
  const editor = window.HopThuEditor.mount(box, textarea, () => {});
  if (!editor) return;
  textarea.form.addEventListener("submit", () => {
    rich.value = editor.getHTML();
    textarea.value = editor.getRoot().innerText;
  });
})();
