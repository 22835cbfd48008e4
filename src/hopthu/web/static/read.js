// The message frame grows to its content (the frame runs no script of its own), and the print view
// prints itself.
(function () {
  const frame = document.getElementById("body-frame");
  if (frame) {
    const fit = () => {
      const doc = frame.contentDocument;
      if (doc && doc.body) frame.style.height = doc.documentElement.scrollHeight + 20 + "px";
    };
    let seen = false;
    const loaded = () => {
      fit();
      if (seen) return;
      seen = true;
      for (const image of frame.contentDocument.images) image.addEventListener("load", fit);
      if (document.querySelector(".reading.printing")) window.print();
    };
    frame.addEventListener("load", loaded);
    // The frame may have finished before this script arrived: its load event is then already gone.
    const doc = frame.contentDocument;
    if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") loaded();
  }
})();
