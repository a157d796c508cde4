/* Saved codes: a Save button on code pages and the /saved/ list, kept in localStorage.
   An enhancement only: without JavaScript the button stays hidden and every page still works. */
(function () {
  "use strict";
  var KEY = "icdsite:saved-codes";

  function storage() {
    try {
      var probe = "__icdsite__";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage disabled: leave the button hidden
    }
  }

  function load(store) {
    try {
      var codes = JSON.parse(store.getItem(KEY) || "[]");
      return Array.isArray(codes) ? codes.filter(function (c) { return typeof c === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function save(store, codes) {
    store.setItem(KEY, JSON.stringify(codes));
  }

  function setupButtons(store) {
    var buttons = document.querySelectorAll("[data-save-code]");
    Array.prototype.forEach.call(buttons, function (button) {
      var code = button.getAttribute("data-save-code");
      function render() {
        // A toggle button keeps its name; aria-pressed (and the check mark in CSS) says whether it is saved.
        var saved = load(store).indexOf(code) !== -1;
        button.setAttribute("aria-pressed", saved ? "true" : "false");
        button.title = saved ? "Saved in this browser: press to remove" : "Keep this code in this browser's saved list";
      }
      button.addEventListener("click", function () {
        var codes = load(store);
        var at = codes.indexOf(code);
        if (at === -1) { codes.push(code); } else { codes.splice(at, 1); }
        save(store, codes);
        render();
      });
      render();
      button.hidden = false;
    });
  }

  function csvField(value) {
    var text = String(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function setupSavedPage(store) {
    var app = document.getElementById("saved-app");
    if (!app) { return; }
    var status = document.getElementById("saved-status");
    var body = app.querySelector("#saved-table tbody");
    var table = document.getElementById("saved-table");
    var actions = app.querySelector(".saved-actions");
    var rows = [];
    app.hidden = false;

    function statusText(code) {
      return code.billable ? "Billable" : "Not billable";
    }

    function render() {
      body.textContent = "";
      rows.forEach(function (code) {
        var tr = document.createElement("tr");
        var codeCell = document.createElement("td");
        var link = document.createElement("a");
        link.href = code.url;
        link.className = "code";
        link.textContent = code.code;
        codeCell.appendChild(link);
        var titleCell = document.createElement("td");
        titleCell.textContent = code.title;
        var statusCell = document.createElement("td");
        statusCell.textContent = statusText(code);
        var actionCell = document.createElement("td");
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove " + code.code);
        remove.addEventListener("click", function () {
          save(store, load(store).filter(function (c) { return c !== code.code; }));
          rows = rows.filter(function (r) { return r.code !== code.code; });
          render();
          status.textContent = code.code + " removed.";
        });
        actionCell.appendChild(remove);
        [codeCell, titleCell, statusCell, actionCell].forEach(function (td) { tr.appendChild(td); });
        body.appendChild(tr);
      });
      table.hidden = actions.hidden = rows.length === 0;
      if (!rows.length) { status.textContent = "No saved codes yet. Use the Save button on a code page."; }
    }

    function asText() {
      return rows.map(function (c) { return c.code + "\t" + c.title + "\t" + statusText(c); }).join("\n");
    }

    function asCsv() {
      var lines = [["code", "title", "billable"].join(",")];
      rows.forEach(function (c) {
        lines.push([c.code, c.title, c.billable ? "yes" : "no"].map(csvField).join(","));
      });
      return lines.join("\r\n") + "\r\n";
    }

    document.getElementById("saved-copy").addEventListener("click", function () {
      var text = asText();
      var done = function () { status.textContent = "Copied " + rows.length + " codes."; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { status.textContent = "Copying was not allowed."; });
      } else {
        status.textContent = "Copying is not supported in this browser.";
      }
    });

    document.getElementById("saved-csv").addEventListener("click", function () {
      var blob = new Blob([asCsv()], { type: "text/csv;charset=utf-8" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "saved-icd10cm-codes.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });

    var codes = load(store).slice(0, 100);
    if (!codes.length) { render(); return; }
    status.textContent = "Loading your saved codes…";
    fetch(app.getAttribute("data-api") + "?codes=" + encodeURIComponent(codes.join(",")), {
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        rows = data.codes;
        var message = rows.length + " saved code" + (rows.length === 1 ? "" : "s") + ".";
        if (data.unknown.length) {
          // A code the current release no longer has: say so, and stop keeping it.
          message += " No longer in the code set: " + data.unknown.join(", ") + ".";
          save(store, load(store).filter(function (c) { return data.unknown.indexOf(c) === -1; }));
        }
        status.textContent = message;
        render();
      })
      .catch(function () {
        status.textContent = "Your saved codes could not be loaded. Please try again.";
      });
  }

  function start() {
    var store = storage();
    if (!store) { return; }
    setupButtons(store);
    setupSavedPage(store);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
