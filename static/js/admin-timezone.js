/* Tell the server the browser's time zone (cookie "tz"), so the admin shows and reads times in it.
   If the zone was unknown or has changed, reload once before anything is typed, so the form on
   screen already uses it. Times are stored in UTC whatever the zone. */
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  // IANA names ("America/Chicago") need no encoding, and the server reads cookies as they are.
  if (!zone || !/^[A-Za-z0-9_\/+\-]+$/.test(zone)) { return; }
  var match = document.cookie.match(/(?:^|;\s*)tz=([^;]*)/);
  var current = match ? match[1] : "";
  if (current === zone) { return; }
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  // A page showing form errors holds the editor's typing: never reload that one.
  var fresh = !document.querySelector(".errornote, .errorlist") && document.cookie.indexOf("tz=") !== -1;
  var navigation = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
  if (fresh && (!navigation || navigation.type !== "reload") && !document.getElementById("login-form")) {
    window.location.reload();
  }
})();
