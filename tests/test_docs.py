"""Every reference in the repository resolves inside it: no private notes, no machine paths, no dead docs.

Code comments, docstrings, READMEs, toml files and the spec cite `docs/<page>.md#<anchor>` for the
Flowise behaviour they rely on. A newcomer who clones the repository must be able to follow each
citation, so this fails when a file names notes that live outside the repository or a path of one
machine, when a cited page or anchor does not exist (anchors computed from the headings as GitHub
does), and when a relative Markdown link in a Markdown file points nowhere.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()

#: Names of notes that are not part of the repository (spelled in pieces so this file passes itself).
PRIVATE_NOTES = tuple(f"flowise-{name}.md" for name in ("notes", "observed", "reference")) + (
    "../" + "shared",
    "reference" + "-flows",
)
#: Notes that may be cited only once the repository has a file of that name.
OPTIONAL_NOTES = ("DESIGN" + ".md", "STYLE" + ".md")
#: A path on one machine: a work folder or root's home.
MACHINE_PATH = re.compile(r"/(?:work|root)/")
#: A section sign and a number, citing a section of a document it does not name: cite an anchor instead.
SECTION_SIGN = re.compile("\u00a7" + r"\s*[A-Z0-9]")
#: `docs/<page>.md` with an optional `#anchor`, as cited in code, toml and prose.
DOCS_CITATION = re.compile(r"(?<![\w./-])docs/((?:[\w-]+/)*[\w.-]+\.md)(?:#([\w-]+))?")
#: Inline Markdown links and images: `[text](target)`.
MARKDOWN_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


# --- the checks, pure functions of text -------------------------------------------------------------


def forbidden_mentions(text: str, *, present: frozenset[str] = frozenset()) -> list[str]:
    """What in `text` points outside the repository; `present` holds the file names the repository has."""
    found = [name for name in PRIVATE_NOTES if name in text]
    found += [name for name in OPTIONAL_NOTES if name not in present and re.search(rf"\b{re.escape(name)}", text)]
    found += sorted({m.group(0) for m in MACHINE_PATH.finditer(text)})
    found += sorted({m.group(0) for m in SECTION_SIGN.finditer(text)})
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lower case, punctuation out, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a Markdown document defines: its headings (duplicates numbered) and `<a id=...>`."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def docs_citations(text: str) -> list[tuple[str, str | None]]:
    """The `(docs/<page>.md, anchor or None)` pairs cited in a text."""
    return [(f"docs/{m.group(1)}", m.group(2)) for m in DOCS_CITATION.finditer(text)]


def markdown_links(markdown: str) -> list[str]:
    """The targets of the inline links of a Markdown document, outside code blocks and code spans."""
    targets: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            targets += MARKDOWN_LINK.findall(re.sub(r"`[^`]*`", "", line))
    return targets


def citation_problems(where: str, page: str, anchor: str | None, root: Path) -> list[str]:
    """Why a cited repository path (and anchor) does not resolve under `root`; empty when it does."""
    target = (root / page).resolve()
    if not target.is_relative_to(root.resolve()):
        return [f"{where}: {page} leaves the repository"]
    if not target.exists():
        return [f"{where}: {page} does not exist"]
    if anchor is None:
        return []
    if target.suffix != ".md" or target.is_dir():
        return [f"{where}: {page}#{anchor}: anchors are checked only in Markdown files"]
    if anchor not in _anchors_of(target):
        return [f"{where}: {page} has no section #{anchor}"]
    return []


@cache
def _anchors_of(path: Path) -> frozenset[str]:
    return frozenset(anchors(path.read_text(encoding="utf-8")))


# --- the repository --------------------------------------------------------------------------------


@cache
def repository_files() -> tuple[str, ...]:
    """Tracked files plus new ones not ignored (what the next commit can hold), that exist on disk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode("utf-8")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return tuple(sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()}))


def _texts() -> list[tuple[str, str]]:
    texts = []
    for name in repository_files():
        try:
            texts.append((name, (ROOT / name).read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError):
            continue  # binary files cite nothing
    return texts


def test_no_reference_leaves_the_repository() -> None:
    present = frozenset(Path(name).name for name in repository_files())
    problems = []
    for name, text in _texts():
        for number, line in enumerate(text.splitlines(), 1):
            problems += [f"{name}:{number}: {found!r}" for found in forbidden_mentions(line, present=present)]
    assert not problems, "references to files outside the repository:\n" + "\n".join(problems)


def test_cited_docs_pages_and_anchors_exist() -> None:
    problems = []
    cited = 0
    for name, text in _texts():
        if name == SELF:
            continue  # its own examples cite missing pages on purpose
        for number, line in enumerate(text.splitlines(), 1):
            for page, anchor in docs_citations(line):
                cited += 1
                problems += citation_problems(f"{name}:{number}", page, anchor, ROOT)
    assert not problems, "citations of docs/ that do not resolve:\n" + "\n".join(problems)
    assert cited >= 50, f"only {cited} docs/ citations found: is the citation pattern still right?"


def test_relative_markdown_links_resolve() -> None:
    problems = []
    markdown = [name for name in repository_files() if name.endswith(".md")]
    assert {"README.md", "CONTRIBUTING.md", "docs/README.md"} <= set(markdown)
    for name in markdown:
        source = ROOT / name
        for target in markdown_links(source.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto: ...: not ours to check
            path, _, anchor = unquote(target).partition("#")
            if not path:  # a link to a section of the same page
                page = name
            else:
                page = Path(os.path.relpath(source.parent / path, ROOT)).as_posix()
            problems += citation_problems(f"{name}: ({target})", page, anchor or None, ROOT)
    assert not problems, "relative Markdown links that do not resolve:\n" + "\n".join(problems)


def test_every_docs_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for target in markdown_links(index)}
    pages = {path.name for path in (ROOT / "docs").glob("*.md")} - {"README.md"}
    assert not pages - linked, f"docs/README.md does not list {sorted(pages - linked)}"


# --- the checks can fail ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Flowise has three error shapes (flowise-" + "reference.md \u00a7B.5):",
        "reference = \"spec x-flowise-upstream flow-key-500; flowise-" + "observed.md \u00a73.4\"",
        "of Flowise's wire format (see /" + "work/shared/flowise-" + "notes.md) to drive",
        "The files in `flows/` answered on a real server (../" + "shared/reference" + "-flows).",
        "a fixture under /" + "root/.cache/flowise",
        "rate limits, on prediction and vector upsert (\u00a7C.6).",
        "spec operation has no handler (DESIGN" + ".md: the spec drives everything).",
    ],
)
def test_a_reference_outside_the_repository_is_caught(line: str) -> None:
    assert forbidden_mentions(line)


def test_a_named_file_of_the_repository_may_be_cited() -> None:
    assert not forbidden_mentions("see DESIGN" + ".md", present=frozenset({"DESIGN" + ".md"}))
    assert not forbidden_mentions("see docs/streaming.md#frame-format and conformance/reference/flows/")


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Frame format", "frame-format"),
        ("missing-id-500", "missing-id-500"),
        ("Ping, version and settings", "ping-version-and-settings"),
        ("The `apikeyid` of a chatflow", "the-apikeyid-of-a-chatflow"),
        ("Agentflows (v2)", "agentflows-v2"),
        ("[Auth](auth.md) and keys", "auth-and-keys"),
        ("snake_case stays", "snake_case-stays"),
    ],
)
def test_slug_is_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_anchors_number_duplicates_and_skip_code() -> None:
    text = "# Page\n## Notes\n```\n# not a heading\n```\n## Notes\n<a id=\"custom\"></a>\n"
    assert anchors(text) == {"page", "notes", "notes-1", "custom"}


def test_a_missing_page_or_anchor_is_caught(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "streaming.md").write_text("# Streaming\n## Frame format\n", encoding="utf-8")
    cited = docs_citations("see docs/streaming.md#frame-format, docs/streaming.md#frames, docs/gone.md.")
    assert cited == [("docs/streaming.md", "frame-format"), ("docs/streaming.md", "frames"), ("docs/gone.md", None)]
    problems = [p for page, anchor in cited for p in citation_problems("x", page, anchor, tmp_path)]
    assert problems == ["x: docs/streaming.md has no section #frames", "x: docs/gone.md does not exist"]


def test_markdown_links_skip_code() -> None:
    text = "[a](docs/a.md) `[b](b.md)`\n```\n[c](c.md)\n```\n![d](img/d.png \"title\") [e](#frame-format)\n"
    assert markdown_links(text) == ["docs/a.md", "img/d.png", "#frame-format"]
