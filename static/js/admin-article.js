/* The article change form in the admin (loaded by its template; no inline scripts):
 * 1. Warn before leaving the page with unsaved changes (beforeunload).
 * 2. Preview the body's Markdown, rendered and sanitised on the server exactly as
 *    readers see it (POST to the staff-only preview endpoint).
 */
(function () {
  "use strict";

  function snapshot(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function initUnsavedWarning(form) {
    var saved = snapshot(form);
    var submitting = false;
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (!submitting && snapshot(form) !== saved) {
        event.preventDefault();
        event.returnValue = "";  // older browsers need a value to show the prompt
      }
    });
  }

  function initPreview(form) {
    var button = document.getElementById("body-preview-button");
    var panel = document.getElementById("body-preview");
    var body = form.querySelector("[name=body]");
    if (!button || !panel || !body) return;
    button.addEventListener("click", function () {
      var data = new FormData();
      data.append("body", body.value);
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      panel.hidden = false;
      panel.textContent = "Rendering…";
      fetch(button.getAttribute("data-preview-url"), {
        method: "POST", body: data, credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      }).then(function (html) {
        panel.innerHTML = html;  // sanitised by the server, as on the article page
      }).catch(function () {
        panel.textContent = "The preview could not be rendered; your text is unchanged.";
      });
    });
  }

  function init() {
    var form = document.getElementById("article_form");
    if (!form) return;
    initPreview(form);
    // After the admin's own scripts (autocomplete, prepopulated slug) have run.
    window.setTimeout(function () { initUnsavedWarning(form); }, 0);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
