"""The documentation site works without a network.

The site is built from the project's own ``mkdocs.yml`` (theme, Markdown
extensions, stylesheets, scripts, API pages), without the hooks that run the
experiments, which add figures but no scripts or stylesheets. The built HTML and
CSS must name no resource outside the site, every resource they name must be in
it, every equation must typeset with the KaTeX kept in ``docs/vendor/katex``,
and, where a browser is installed, the pages must show typeset math with the
network cut off.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parent.parent
KATEX = ROOT / "docs" / "vendor" / "katex" / "katex.min.js"
# Pages full of math: two theory pages (one with math in a heading) and an API page.
BROWSED_PAGES = (
    "theory/norm-budget/index.html",
    "theory/decay-factor/index.html",
    "api/conventions/index.html",
)
MATH_FILES = (
    "vendor/katex/katex.min.css",
    "vendor/katex/katex.min.js",
    "vendor/katex/contrib/auto-render.min.js",
    "javascripts/katex.js",
)

# Attributes through which a page loads something (links to other sites are not loads).
_LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src",),
    "iframe": ("src",),
    "source": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "link": ("href",),
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
_MATH = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)
_NAV_LINK = re.compile(r'<li class="toctree-l\d+"><a [^>]*>([^<]*\\\([^<]*)</a>')


class _Loads(HTMLParser):
    """The URLs of the resources that one HTML page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") in ("canonical", "alternate", "next", "prev"):
            return
        for name in _LOADING_ATTRIBUTES.get(tag, ()):
            if values.get(name):
                self.urls.append(values[name])


def loaded_urls(text: str, suffix: str) -> list[str]:
    """URLs that an ``.html`` or ``.css`` file makes the browser fetch."""
    if suffix == ".css":
        return [a or b for a, b in _CSS_URL.findall(text)]
    parser = _Loads()
    parser.feed(text)
    return parser.urls


def is_external(url: str) -> bool:
    """Whether fetching ``url`` needs a network: a scheme other than data, or ``//host``."""
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "data")


def target(site: Path, page: Path, url: str) -> Path:
    """The file of ``site`` that a local ``url`` in ``page`` names."""
    path = urlsplit(url).path
    base = site if path.startswith("/") else page.parent
    return (base / path.lstrip("/")).resolve()


def equations(text: str) -> list[str]:
    """The TeX of an HTML page, with its delimiters: math spans and navigation titles."""
    found = [unescape(body).strip() for _, body in _MATH.findall(text)]
    for title in _NAV_LINK.findall(text):
        found += re.findall(r"\\\(.*?\\\)", unescape(title))
    return found


def katex_errors(tex: list[str]) -> dict[str, str]:
    """KaTeX's error for each equation (``\\(..\\)`` or ``\\[..\\]``) it cannot typeset."""
    script = (
        "const katex = require(process.argv[1]);"
        "const errors = {};"
        "for (const tex of JSON.parse(require('fs').readFileSync(0, 'utf8'))) {"
        "  try { katex.renderToString(tex.slice(2, -2),"
        "          {displayMode: tex.startsWith('\\\\['), throwOnError: true}); }"
        "  catch (error) { errors[tex] = error.message; }"
        "}"
        "process.stdout.write(JSON.stringify(errors));"
    )
    done = subprocess.run(
        ["node", "-e", script, str(KATEX)],
        input=json.dumps(tex),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site_dir = tmp_path_factory.mktemp("site")
    # Not strict: without the hooks, the pages' generated parts and the blocks
    # the hooks run are missing or shown raw, which the strict build (with
    # hooks) would rightly call errors.
    config = load_config(str(ROOT / "mkdocs.yml"), hooks=[], site_dir=str(site_dir), strict=False)
    build(config)
    return site_dir


def _files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.suffix in (".html", ".css"))


@pytest.mark.parametrize(
    ("url", "external"),
    [
        ("https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", True),
        ("//fonts.googleapis.com/css?family=Lato", True),
        ("http://example.org/a.css", True),
        ("../vendor/katex/katex.min.js", False),
        ("fonts/KaTeX_Main-Regular.woff2", False),
        ("/css/theme.css", False),
        ("data:image/png;base64,AAAA", False),
    ],
)
def test_a_url_is_external_when_it_names_a_host(url, external):
    assert is_external(url) is external


@pytest.mark.parametrize(
    ("text", "suffix", "urls"),
    [
        ('<script src="https://cdn.x/a.js"></script>', ".html", ["https://cdn.x/a.js"]),
        ("<script>var inline;</script>", ".html", []),
        ('<link rel="stylesheet" href="//fonts.x/css">', ".html", ["//fonts.x/css"]),
        ('<link rel="canonical" href="https://site.x/page/">', ".html", []),
        ('<a href="https://other.x/">a link, not a load</a>', ".html", []),
        ('<img src="figures/q1.png" alt="">', ".html", ["figures/q1.png"]),
        ('@font-face{src:url(fonts/A.woff2) format("woff2")}', ".css", ["fonts/A.woff2"]),
        ("@import 'https://fonts.x/css';", ".css", ["https://fonts.x/css"]),
        ('a{background:url("x.png")}', ".css", ["x.png"]),
    ],
)
def test_loaded_urls_are_what_the_browser_fetches(text, suffix, urls):
    assert sorted(loaded_urls(text, suffix)) == sorted(urls)


def test_built_site_loads_nothing_from_outside(site):
    external = [
        (str(path.relative_to(site)), url)
        for path in _files(site)
        for url in loaded_urls(path.read_text(encoding="utf-8"), path.suffix)
        if is_external(url)
    ]
    assert external == []


def test_every_resource_the_site_loads_is_in_it(site):
    missing = [
        (str(path.relative_to(site)), url)
        for path in _files(site)
        for url in loaded_urls(path.read_text(encoding="utf-8"), path.suffix)
        if not (is_external(url) or url.startswith("data:") or target(site, path, url).is_file())
    ]
    assert missing == []


def test_every_page_with_math_loads_the_math_renderer(site):
    without = []
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if equations(text):
            loads = {target(site, path, url) for url in loaded_urls(text, ".html")}
            absent = [name for name in MATH_FILES if (site / name).resolve() not in loads]
            if absent:
                without.append((str(path.relative_to(site)), absent))
    assert without == []


node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run KaTeX")


@node
def test_katex_check_reports_an_equation_it_cannot_typeset():
    errors = katex_errors([r"\(a^2\)", r"\[\frac{1}{\]", r"\(\nocommand x\)"])
    assert sorted(errors) == [r"\(\nocommand x\)", r"\[\frac{1}{\]"]


@node
def test_every_equation_of_the_site_typesets_with_the_vendored_katex(site):
    tex = sorted({t for path in site.rglob("*.html") for t in equations(path.read_text("utf-8"))})
    assert len(tex) > 100  # the theory pages alone hold more
    assert katex_errors(tex) == {}


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def rendered_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran, in a headless browser with no network."""
    command = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # any host other than the page's file fails
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def raw_tex(dom: str) -> list[str]:
    """``\\(`` and ``\\[`` spans left as text, outside code and KaTeX's own TeX annotation."""
    shown = re.sub(r"<(annotation|pre|code|script)\b.*?</\1>", "", dom, flags=re.DOTALL)
    return re.findall(r"\\[(\[].{0,40}", shown)


@pytest.mark.skipif(_browser() is None, reason="needs a headless Chromium")
@pytest.mark.parametrize("page", BROWSED_PAGES)
def test_browser_without_network_shows_the_math_typeset(site, page, tmp_path):
    source = (site / page).read_text(encoding="utf-8")
    dom = rendered_dom(site / page, tmp_path)
    assert raw_tex(dom) == []
    assert dom.count('class="katex"') >= len(equations(source)) > 0
    assert "katex-error" not in dom
