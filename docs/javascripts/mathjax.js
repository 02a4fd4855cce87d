// MathJax settings for the \( \) and \[ \] spans that pymdownx.arithmatex writes.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

document$ = window.document$;
if (typeof document$ !== "undefined" && document$.subscribe) {
  document$.subscribe(() => MathJax.typesetPromise());
}
