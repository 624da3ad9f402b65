#!/usr/bin/env python3
"""Finds import circles between the files of each crate (CI runs it).

A file imports another when it names an item of that file's module: `use crate::a::b::Item`,
`crate::a::b::f(...)` or `super::x::Item` in code, or a bare path through one of its own child
modules (`use api::Item`, `api::routes(...)` in the file that declares `mod api;`), resolved to
the deepest module file on the path (an item that a file re-exports with `pub use` counts as that file's: importing through a
re-export is importing from the re-exporting file). `mod x;` declarations and `#[cfg(test)]`
modules (and files named `tests.rs`) are not imports. Two files that reach each other through such imports are a circle;
the script prints each circle and exits 1 when there is one.

It also checks the layers of the crates that declare them (LAYERS): a top-level module of a
crate imports only from its own layer or the layers below it, so a folder never reaches into the
folder that renders it.

Usage: scripts/check_module_cycles.py [--layers 'a,b;c;d'] [CRATE_SRC_DIR ...]
  (default: every workspace crate, with LAYERS; --layers gives the layers of the crates named,
  lowest first, `;` between layers and `,` between the modules of one)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Layers of a crate's top-level modules, lowest first (ARCHITECTURE.md says why each sits where).
LAYERS = {
    "analyzer": [
        ["units", "table", "stats", "group"],
        ["ingest", "hdr", "validate"],
        ["staleness", "summary", "approach", "compare", "calibration", "family"],
        ["cost"],
        ["view"],
        ["export"],
        ["plot"],
        ["report"],
    ],
}
CRATES = ["record", "bench-lambda", "analyzer", "local-lambda", "agent", "secbench",
          "test-support", "benches"]

ITEM = re.compile(
    r"^\s*pub(?:\([^)]*\))?\s+(?:async\s+)?(?:unsafe\s+)?"
    r"(?:struct|enum|fn|type|trait|const|static|mod|union)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M)
MACRO = re.compile(r"^\s*macro_rules!\s*([A-Za-z_][A-Za-z0-9_]*)", re.M)
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
# A path that starts with a plain name (not after `::`): followed when the name is a child module.
BARE = re.compile(r"(?<![\w:])([A-Za-z_][A-Za-z0-9_]*)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE = re.compile(r"\buse\s+([^;]+);", re.S)
# Comments, raw strings, strings and character literals (a quote in a char literal is no string).
LEXEMES = re.compile(
    r"//[^\n]*|/\*.*?\*/"
    r'|(?<![A-Za-z0-9_])b?r(#*)".*?"\1'
    r'|b?"(?:\\.|[^"\\])*"'
    r"|b?'(?:\\.|[^'\\])'",
    re.S)


def strip(text: str) -> str:
    """Drops comments, string literals and `#[cfg(test)]` modules."""
    # One pass, left to right, so a quote inside a comment or a string starts nothing.
    text = LEXEMES.sub(lambda m: "" if m.group(0).startswith("/") else '""', text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def module_files(src: Path) -> dict:
    """Module path (tuple) -> file, for lib.rs/main.rs and every module below."""
    files = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src)
        parts = list(rel.with_suffix("").parts)
        if parts[0] == "bin" or parts[-1] == "tests":
            continue
        if parts[-1] in ("lib", "main") and len(parts) == 1:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        files[tuple(parts)] = f
    return files


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree)

    def go(prefix, t):
        if "{" not in t:
            return [prefix + t]
        head, rest = t.split("{", 1)
        body = rest[: rest.rfind("}")]
        parts, depth, cur = [], 0, ""
        for ch in body:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            cur += ch
        parts.append(cur)
        out = []
        for p in parts:
            if p:
                out += go(prefix + head, p)
        return out

    return go("", tree)


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files = module_files(src)
        self.text = {m: strip(f.read_text()) for m, f in self.files.items()}
        self.items = {m: set(ITEM.findall(t)) | set(MACRO.findall(t)) for m, t in self.text.items()}
        # Re-exports: module -> {name: absolute path it re-exports}.
        self.reexports = {}
        for m, t in self.text.items():
            r = {}
            for u in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", t, re.S):
                for p in expand_use(u.group(1)):
                    name = p.split("::")[-1]
                    if name in ("*", "self"):
                        continue
                    r[name] = p
            self.reexports[m] = r

    def children(self, module: tuple) -> set:
        """The names of `module`'s child modules that have files of their own."""
        n = len(module)
        return {m[n] for m in self.files if len(m) == n + 1 and m[:n] == module}

    def absolute(self, module: tuple, path: str) -> list:
        parts = path.split("::")
        base = list(module)
        head = parts[0]
        if head == "crate":
            base, parts = [], parts[1:]
        elif head in ("super", "self"):
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base = base[:-1]
                parts = parts[1:]
        elif head in self.children(module):
            pass
        else:
            return []
        return base + parts

    def defining_file(self, segments: list, seen=None) -> tuple:
        """The module that defines the item `segments` names (following re-exports)."""
        seen = seen or set()
        for k in range(len(segments), -1, -1):
            m = tuple(segments[:k])
            if m not in self.files:
                continue
            rest = segments[k:]
            if not rest:
                return m
            name = rest[0]
            if name in self.items.get(m, ()) and (m + (name,)) not in self.files:
                return m
            return m
        return ()

    def edges(self) -> dict:
        out = {m: set() for m in self.files}
        for m, t in self.text.items():
            paths = []
            for u in USE.finditer(t):
                paths += expand_use(u.group(1))
            paths += [m2.group(1) + m2.group(2) for m2 in PATH.finditer(t)]
            children = self.children(m)
            paths += [m2.group(1) + m2.group(2) for m2 in BARE.finditer(t)
                      if m2.group(1) in children]
            for p in paths:
                if p.split("::")[0] not in {"crate", "super", "self"} | children:
                    continue
                seg = self.absolute(m, p)
                if not seg:
                    continue
                target = self.defining_file(seg)
                if target != m and target in self.files:
                    out[m].add(target)
        return out


def cycles(edges: dict) -> list:
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def shown(path: Path) -> str:
    """The path relative to the checkout, or as given when it is elsewhere."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def layer_violations(crate, edges: dict, layers: list) -> list:
    """(file, file it imports from) where the second's top-level module is in a higher layer."""
    tier = {name: i for i, layer in enumerate(layers) for name in layer}
    out = []
    for a, targets in edges.items():
        for b in targets:
            if a and b and a[0] != b[0] and a[0] in tier and b[0] in tier and tier[a[0]] < tier[b[0]]:
                out.append((crate.files[a], crate.files[b]))
    return sorted(out)


def main(argv):
    given_layers = None
    if argv[:1] == ["--layers"]:
        given_layers = [layer.split(",") for layer in argv[1].split(";")]
        argv = argv[2:]
    if argv:
        srcs = [(Path(a).resolve(), given_layers) for a in argv]
    else:
        srcs = [(ROOT / c / "src", LAYERS.get(c)) for c in CRATES]
    found = False
    for src, layers in srcs:
        crate = Crate(src)
        edges = crate.edges()
        for a, b in layer_violations(crate, edges, layers or []):
            found = True
            print(f"layer broken: {shown(a)} imports from {shown(b)}, a layer above it")
        for comp in cycles(edges):
            found = True
            names = sorted(shown(crate.files[m]) for m in comp)
            print(f"import circle: {' <-> '.join(names)}")
            for a in comp:
                for b in sorted(edges[a] & set(comp)):
                    print(f"  {shown(crate.files[a])} imports from {shown(crate.files[b])}")
    if found:
        return 1
    print(f"no import circle between the files of {len(srcs)} crates, and no layer broken")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
