// The first visit's tour (_tour.html): one step at a time, the place it speaks of marked on the page.
// Closing it takes the welcome off the address, so a reload does not show it again.
(function () {
  const tour = document.getElementById("tour");
  if (!tour) return;
  const steps = [...tour.querySelectorAll(".tour-steps li")];
  const back = tour.querySelector("[data-tour=back]");
  const next = tour.querySelector("[data-tour=next]");
  const close = tour.querySelector("[data-tour=close]");
  let at = 0;
  const marked = () => document.querySelector(".tour-target");
  function show(index) {
    at = index;
    steps.forEach((step, n) => { step.hidden = n !== index; });
    marked()?.classList.remove("tour-target");
    // the first of the step's places that is on screen (the folder menu's button on a phone)
    const target = [...document.querySelectorAll(steps[index].dataset.target)]
      .find((el) => el.getClientRects().length > 0);
    if (target) {
      target.classList.add("tour-target");
      target.scrollIntoView({ block: "nearest" });
    }
    back.hidden = index === 0;
    next.hidden = index === steps.length - 1;
    close.classList.toggle("secondary", index !== steps.length - 1);
  }
  back.addEventListener("click", () => show(at - 1));
  next.addEventListener("click", () => show(at + 1));
  tour.addEventListener("close", () => {
    marked()?.classList.remove("tour-target");
    const address = new URL(location.href);
    address.searchParams.delete("chao");
    history.replaceState(null, "", address);
  });
  tour.classList.add("stepped");
  show(0);
  next.focus();
})();
