// aws-connector-wizard: progressive enhancement only. Every page works without
// this file; it adds copy-to-clipboard and print buttons. No inline script anywhere
// (the Content-Security-Policy forbids it).
"use strict";

function enableCopyButtons(root) {
  if (!navigator.clipboard) {
    return;
  }
  root.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    if (button.dataset.copyReady) {
      return;
    }
    button.dataset.copyReady = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copyTarget);
      if (!target) {
        return;
      }
      navigator.clipboard.writeText(target.textContent).then(
        function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        },
        function () {
          button.textContent = "Copy failed";
        }
      );
    });
  });
}

// "Print" on the report: print.css turns the page into a clean document.
function enablePrintButtons(root) {
  root.querySelectorAll("button[data-print]").forEach(function (button) {
    if (button.dataset.printReady) {
      return;
    }
    button.dataset.printReady = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  enableCopyButtons(document);
  enablePrintButtons(document);
});
// htmx swaps in new fragments: give their copy buttons life too.
document.addEventListener("htmx:afterSettle", function (event) {
  enableCopyButtons(event.target);
});
