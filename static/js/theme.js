// The colour theme, applied before the first paint: a classic (blocking) script in <head>.
//
// The user's choice lives in GET/POST /settings ("system" | "light" | "dark") and the
// server renders it on <html data-theme>; the E-mail tab's preferences module applies a
// change at once and keeps a copy in localStorage, which this script applies before the
// first paint when the page came without one (the login page). app.css reads
// <html data-theme>: "dark" (and no attribute) is the dark palette, "light" the light one,
// "system" follows prefers-color-scheme.
(function () {
  try {
    var theme = JSON.parse(localStorage.getItem("cryptobot.theme"));
    var root = document.documentElement;
    if (!root.dataset.theme && (theme === "light" || theme === "dark" || theme === "system")) {
      root.dataset.theme = theme;
    }
  } catch (e) {
    // Storage disabled or an unreadable value: the default (dark) palette stays.
  }
})();
