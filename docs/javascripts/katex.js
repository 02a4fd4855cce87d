// Typesets the \( \) and \[ \] spans that pymdownx.arithmatex writes (generic
// mode) with the KaTeX kept in vendor/katex, so the site needs no network.
// The navigation is typeset too: a heading holding math reaches the menu as
// its TeX source. Nothing else is scanned, so a literal "\(" in prose or code
// stays as written.
document.addEventListener("DOMContentLoaded", function () {
  var options = {
    delimiters: [
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
    ],
    throwOnError: false,
  };
  document
    .querySelectorAll(".arithmatex, .wy-menu-vertical a")
    .forEach(function (element) {
      renderMathInElement(element, options);
    });
});
