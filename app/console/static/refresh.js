// Reloads a page that asks for it: an element with id "auto-refresh" and data-seconds.
// The only script of the console (served by the service; the CSP allows no inline script).
// A <meta http-equiv="refresh"> would do the same without script, but a user could not
// stop it (WCAG 2.2.1); the page offers "stop refreshing", a link that drops the element.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var marker = document.getElementById("auto-refresh");
  if (!marker) {
    return;
  }
  var seconds = Number(marker.getAttribute("data-seconds")) || 2;
  window.setTimeout(function () {
    window.location.reload();
  }, seconds * 1000);
});
