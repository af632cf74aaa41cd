// aws-connector-wizard: progressive enhancement only. Every page works without
// this file; it adds copy-to-clipboard and print buttons, shows failed htmx
// requests, and counts characters against field limits. No inline script anywhere
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


// --- Every failure is visible (docs/ux.md, "Feedback") -------------------------
// htmx does not swap a 4xx/5xx answer (base.html's htmx-config), so without
// this a failed tick, note or preview would fail silently. The message goes
// into an aria-live region right after the form or element that made the
// request; the next successful request from there clears it.
var FALLBACK_MESSAGES = {
  0: "The server could not be reached: check the connection and try again. Nothing was saved.",
  403: "Not allowed with this link. Nothing was changed.",
  404: "Not found: the link may have been revoked or the page removed.",
  409: "Someone else changed this first. Reload the page to see the current state.",
  413: "Too long: the server refused it. Shorten the text and try again. Nothing was saved.",
  422: "The server could not accept this. Check the fields and try again.",
  429: "Too many requests: wait a minute and try again. Nothing was run.",
  500: "The server failed to handle this. Nothing was changed; try again."
};

function feedbackAnchor(elt) {
  return elt.closest("form") || elt;
}

function feedbackRegion(elt, create) {
  var anchor = feedbackAnchor(elt);
  var next = anchor.nextElementSibling;
  if (next && next.classList.contains("request-feedback")) {
    return next;
  }
  if (!create) {
    return null;
  }
  var region = document.createElement("p");
  region.className = "request-feedback field-error";
  region.setAttribute("role", "alert");
  anchor.insertAdjacentElement("afterend", region);
  return region;
}

// The server's own words, when it answered with an error page (error.html): they
// name the rule and never echo the input.
function serverMessage(xhr) {
  var type = xhr.getResponseHeader("Content-Type") || "";
  if (type.indexOf("text/html") !== 0 || !xhr.responseText) {
    return "";
  }
  var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
  var message = doc.querySelector(".error-page [data-message]");
  return message ? message.textContent.trim() : "";
}

function showFailure(event) {
  var xhr = event.detail.xhr;
  var status = xhr ? xhr.status : 0;
  var text = (xhr && serverMessage(xhr)) || FALLBACK_MESSAGES[status] ||
    (status >= 500 ? FALLBACK_MESSAGES[500] : "The request failed (" + status + "). Nothing was changed.");
  var region = feedbackRegion(event.detail.elt, true);
  region.textContent = text;
}

document.addEventListener("htmx:responseError", showFailure);
document.addEventListener("htmx:sendError", showFailure);
document.addEventListener("htmx:timeout", showFailure);
document.addEventListener("htmx:afterRequest", function (event) {
  if (event.detail.successful) {
    var region = event.detail.elt && document.contains(event.detail.elt) && feedbackRegion(event.detail.elt, false);
    if (region) {
      region.remove();
    }
  }
});

// --- Limits told before submit ------------------------------------------------------
// Fields carry data-limit instead of maxlength: maxlength would silently cut a
// pasted value; the counter says it is too long and the server refuses it with
// a message naming the field and the rule.
function enableCounters(root) {
  root.querySelectorAll("[data-limit]").forEach(function (field) {
    if (field.dataset.counterReady) {
      return;
    }
    field.dataset.counterReady = "1";
    var limit = parseInt(field.dataset.limit, 10);
    var counter = document.createElement("small");
    counter.className = "counter";
    counter.id = field.id + "-counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    var timer = null;
    function update() {
      var length = field.value.length;
      var over = length > limit;
      counter.classList.toggle("over", over);
      // Short limits always show; long ones once the text nears them.
      var shown = over || limit <= 128 || length >= limit * 0.75;
      counter.textContent = !shown ? "" : over
        ? "Too long: " + length + " characters, at most " + limit + "."
        : length + " of " + limit + " characters";
    }
    update();
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 150);
    });
  });
}

// "Tick: All / United States / … / None" beside the region checkboxes. Without
// this they submit the form and the server ticks the set (pages.save_options).
function enableRegionSets(root) {
  root.querySelectorAll("button[data-regions]").forEach(function (button) {
    if (button.dataset.setReady) {
      return;
    }
    button.dataset.setReady = "1";
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var wanted = button.dataset.regions.split(" ").filter(Boolean);
      var fieldset = button.closest("fieldset");
      fieldset.querySelectorAll("input[name=regions]").forEach(function (box) {
        box.checked = wanted.indexOf(box.value) !== -1;
      });
      // The live preview listens for changes on the form.
      if (button.form) {
        button.form.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });
}

// Options: the fields of the connector principals not chosen (data-principals
// lists the principals that use a block) are hidden and disabled, so they are not
// sent. Without this every block shows, labelled with the principals that use it,
// and the server refuses a value typed into one the plan does not use.
function enablePrincipalFields(root) {
  var form = root.querySelector ? root.querySelector("#options-form") : null;
  if (!form || form.dataset.principalsReady) {
    return;
  }
  form.dataset.principalsReady = "1";
  function update() {
    var chosen = form.querySelector("input[name=principal]:checked");
    if (!chosen) {
      return;
    }
    form.querySelectorAll("[data-principals]").forEach(function (block) {
      var used = block.dataset.principals.split(" ").indexOf(chosen.value) !== -1;
      block.hidden = !used;
      block.querySelectorAll("input, textarea, select").forEach(function (field) {
        if (!used && !field.disabled) {
          field.disabled = true;
          field.dataset.principalDisabled = "1";
        } else if (used && field.dataset.principalDisabled) {
          field.disabled = false;
          delete field.dataset.principalDisabled;
        }
      });
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "principal") {
      update();
    }
  });
  update();
}

document.addEventListener("DOMContentLoaded", function () {
  enableCopyButtons(document);
  enablePrintButtons(document);
  enableCounters(document);
  enableRegionSets(document);
  enablePrincipalFields(document);
});
// htmx swaps in new fragments: give their buttons and counters life too.
document.addEventListener("htmx:afterSettle", function (event) {
  enableCopyButtons(event.target);
  enableCounters(event.target);
  enableRegionSets(document);  // an out-of-band swap brings a new region fieldset
});
