/* The article page's Print button: hidden in the HTML, shown only when this script runs,
 * so readers without JavaScript never see a button that does nothing (the browser's own
 * Print works for everyone, and print.css shapes the page either way).
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
