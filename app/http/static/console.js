// OrderHub console: the little the pages do in the browser. Every page works without it:
// the action opens a confirmation page of its own, and the forms post as forms.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Create Outbound Fulfillment Request" / "Revise Outbound Request": the confirmation as a
  // dialog on the order page rather than a page of its own.
  for (const link of document.querySelectorAll("a[data-dialog]")) {
    const dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") continue;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      dialog.showModal();
      const ok = dialog.querySelector("button[type=submit]");
      if (ok) ok.focus();
    });
    for (const cancel of dialog.querySelectorAll("[data-close-dialog]")) {
      cancel.addEventListener("click", (event) => {
        event.preventDefault();
        dialog.close();
        link.focus();
      });
    }
  }

  // "Select all shown" on the queue's entries in error.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    const name = all.dataset.selectAll;
    const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${name}"]`);
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
  }

  // A form sent once: a second press while the page loads would post it again.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      setTimeout(() => {
        for (const button of form.querySelectorAll("button")) button.disabled = true;
      }, 0);
    });
  }
});
