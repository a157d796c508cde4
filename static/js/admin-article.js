/* The article change form: a live preview of the body, character counters, a warning before
   leaving with unsaved edits. A static file (no inline script), so it runs under a strict CSP. */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- counters: "120 / 200" under fields that carry data-max-length ---------------------------
  function setupCounters(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-max-length]"), function (field) {
      var max = parseInt(field.getAttribute("data-max-length"), 10);
      var counter = document.createElement("span");
      counter.className = "char-counter";
      counter.setAttribute("aria-live", "polite");
      counter.id = field.id + "-counter";
      field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + counter.id).trim());
      field.insertAdjacentElement("afterend", counter);
      function update() {
        var length = field.value.length;
        counter.textContent = length + " / " + max + (length > max ? " (" + (length - max) + " too many)" : "");
        counter.classList.toggle("over", length > max);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // --- live preview of the body, rendered by the server's own renderer and sanitizer ------------
  function setupPreview(form) {
    var body = form.querySelector("#id_body");
    var tools = document.getElementById("article-tools");
    var url = tools ? tools.getAttribute("data-preview-url") : null;
    if (!body || !url) { return; }
    var wrap = document.createElement("div");
    wrap.className = "live-preview-wrap";
    body.parentNode.insertBefore(wrap, body);
    wrap.appendChild(body);
    var pane = document.createElement("div");
    pane.className = "live-preview";
    pane.id = "live-preview";
    pane.setAttribute("aria-live", "polite");
    pane.setAttribute("aria-label", "Preview of the body");
    var problems = document.createElement("ul");
    problems.className = "errorlist live-problems";
    var side = document.createElement("div");
    side.appendChild(problems);
    side.appendChild(pane);
    wrap.appendChild(side);
    var timer = null;
    var sent = 0;
    function render() {
      var mine = ++sent;
      var data = new FormData();
      data.append("body", body.value);
      fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(form) } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (result) {
          if (mine !== sent) { return; } // an older answer arriving late
          pane.innerHTML = result.html; // sanitized by the server (conditions.markdown)
          problems.textContent = "";
          result.problems.forEach(function (text) {
            var item = document.createElement("li");
            item.textContent = text;
            problems.appendChild(item);
          });
        })
        .catch(function () { pane.textContent = "The preview is not available just now; saving still works."; });
    }
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    });
    render();
  }

  // --- a warning before leaving the page with edits that are not saved --------------------------
  function setupUnsavedWarning(form) {
    var dirty = false;
    var submitting = false;
    function mark() { dirty = true; }
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    // The separate workflow forms (for people who cannot edit) never carry unsaved edits;
    // still, refuse to run one over edits made on this page.
    Array.prototype.forEach.call(document.querySelectorAll("form[id^=step-]"), function (stepForm) {
      stepForm.addEventListener("submit", function (event) {
        if (dirty) {
          event.preventDefault();
          window.alert("Save your edits first: this button acts on the saved article.");
        }
      });
    });
  }

  function start() {
    var form = document.getElementById("article_form");
    if (!form) { return; }
    setupCounters(form);
    setupPreview(form);
    setupUnsavedWarning(form);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
