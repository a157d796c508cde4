/* Autocomplete for the header search box (input#site-q): the WAI-ARIA combobox pattern with a listbox popup.
   Progressive enhancement: without this script the box is a plain GET form to /search/. */
(function () {
  "use strict";
  var input = document.getElementById("site-q");
  if (!input || !window.fetch) return;
  var endpoint = input.getAttribute("data-autocomplete-url") || "/api/autocomplete";
  var DELAY = 150;
  var listId = "site-q-listbox";
  var list = document.createElement("ul");
  var status = document.createElement("div");
  var timer = null, controller = null, items = [], active = -1, lastQuery = null;

  list.id = listId;
  list.className = "autocomplete-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggestions");
  list.hidden = true;
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.style.cssText = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);";
  input.insertAdjacentElement("afterend", list);
  list.insertAdjacentElement("afterend", status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listId);

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function setActive(index) {
    var options = list.children;
    if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
    active = index;
    if (active >= 0 && options[active]) {
      options[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render(results) {
    items = results;
    list.textContent = "";
    results.forEach(function (item, i) {
      var li = document.createElement("li");
      var code = document.createElement("span");
      li.id = listId + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.url = item.url;
      code.className = "code";
      code.textContent = item.code;
      li.appendChild(code);
      li.appendChild(document.createTextNode(" " + item.title));
      // mousedown, not click: it comes before the input's blur closes the list.
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        window.location.assign(item.url);
      });
      list.appendChild(li);
    });
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (results.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    } else {
      close();
    }
    status.textContent = results.length ? results.length + " suggestions; use the arrow keys to choose." : "No suggestions.";
  }

  function fetchSuggestions() {
    var query = input.value;
    if (!query.trim()) { lastQuery = null; render([]); return; }
    if (query === lastQuery) return;
    lastQuery = query;
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch(endpoint + "?q=" + encodeURIComponent(query), {
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) { if (input.value === query) render(data.results || []); })
      .catch(function () { /* aborted or offline: the plain form still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, DELAY);
  });

  input.addEventListener("keydown", function (event) {
    var open = !list.hidden && items.length > 0;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open) { lastQuery = null; fetchSuggestions(); return; }
        setActive(active + 1 < items.length ? active + 1 : 0);
        break;
      case "ArrowUp":
        if (!open) return;
        event.preventDefault();
        setActive(active > 0 ? active - 1 : items.length - 1);
        break;
      case "Enter":
        if (open && active >= 0) {
          event.preventDefault();
          window.location.assign(items[active].url);
        }
        break;
      case "Escape":
        if (open) { event.preventDefault(); close(); } else { input.value = ""; }
        break;
      case "Tab":
        close();
        break;
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 100); });
})();
