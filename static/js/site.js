/* Progressive enhancement only: every page works without this file.
 * 1. Search-box autocomplete (ARIA 1.2 combobox with a listbox popup) from /api/suggest/.
 * 2. The filter panel starts open on wide screens and folded on phones.
 */
(function () {
  "use strict";

  function initFilters() {
    var wide = window.matchMedia("(min-width: 50rem)").matches;
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
      if (wide) details.open = true;
    });
  }

  function initAutocomplete(input) {
    var row = input.closest("[data-suggest-url]");
    if (!row) return;
    var url = row.getAttribute("data-suggest-url");
    var list = document.createElement("ul");
    var listId = input.id + "-suggestions";
    var items = [];
    var active = -1;
    var timer = null;
    var lastQuery = "";
    var controller = null;

    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    row.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0) input.setAttribute("aria-activedescendant", items[index].id);
      else input.removeAttribute("aria-activedescendant");
    }

    // An article title opens the article; a disease or therapy name searches for it.
    function choose(suggestion) {
      input.value = suggestion.text;
      close();
      if (suggestion.url) window.location.assign(suggestion.url);
      else input.form.submit();
    }

    function render(suggestions) {
      list.textContent = "";
      items = suggestions.map(function (suggestion, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = suggestion.text;
        if (suggestion.url) {
          li.className = "is-article";
          li.setAttribute("data-url", suggestion.url);
        }
        li.suggestion = suggestion;
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(suggestion);
        });
        list.appendChild(li);
        return li;
      });
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
      active = -1;
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query === lastQuery) return;
      lastQuery = query;
      if (query.length < 2) { render([]); return; }
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" },
        signal: controller.signal,
      })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) {
          // `items` ({text, url}) is newer; plain `suggestions` strings still work.
          var found = data.items || (data.suggestions || []).map(function (text) { return { text: text }; });
          if (document.activeElement === input) render(found);
        })
        .catch(function () { /* a failed suggestion request is not worth bothering the reader */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 120);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden || !items.length) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(items[active].suggestion);
      } else if (event.key === "Escape") {
        // Only close the list: a search input's own Escape would also clear the text.
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initFilters();
    document.querySelectorAll("input[data-autocomplete]").forEach(initAutocomplete);
  });
})();
