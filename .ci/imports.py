#!/usr/bin/env python3
"""The crate's file-level import graph: which source file names which.

Reads every `crate::`, `super::` and `self::` path in src/ (use statements and inline
paths), resolves it to the file that defines the module, and prints the strongly
connected components (import circles) larger than one file.

    python3 .ci/imports.py            # circles, largest first
    python3 .ci/imports.py --check    # exit 1 if a circle crosses modules
    python3 .ci/imports.py --modules  # the modules of each circle across modules
    python3 .ci/imports.py --edges    # every edge, `from -> to`
"""
import os
import re
import sys
from collections import defaultdict

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
SRC = os.path.normpath(SRC)


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


TOKENS = re.compile(
    r'//[^\n]*|/\*.*?\*/|\br(#*)"(?:.|\n)*?"\1|b?"(?:\\.|[^"\\])*"',
    flags=re.S,
)


def strip(text):
    """Source without comments and string literals, and without its unit tests."""
    text = TOKENS.sub(lambda m: '""' if m.group(0).endswith('"') else "", text)
    # Unit tests may reach anywhere.
    text = re.sub(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{.*", "", text, flags=re.S)
    return text


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]"""
    tree = tree.replace(" ", "").replace("\n", "")
    out = []

    def walk(prefix, s):
        i = s.find("{")
        if i < 0:
            for part in split_top(s):
                out.append(prefix + part)
            return
        head = s[:i]
        body = s[i + 1 : s.rfind("}")]
        for part in split_top(body):
            walk(prefix + head, part)

    walk("", tree)
    return out


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[tuple(module_of(p))] = os.path.relpath(p, SRC)
    edges = defaultdict(set)
    for mod, rel in files.items():
        text = strip(open(os.path.join(SRC, rel), encoding="utf-8").read())
        paths = []
        for m in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", text):
            paths += expand(m.group(1))
        for m in re.finditer(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", text):
            paths.append(m.group(1))
        is_mod_file = os.path.basename(rel) in ("mod.rs", "lib.rs", "main.rs")
        # Paths through a child module declared here (`mod parent;` ... `parent::home`).
        children = re.findall(r"\bmod\s+(\w+)\s*;", text)
        for child in children:
            for m in re.finditer(r"(?<![\w:])(" + child + r"(?:::\w+)+)", text):
                paths.append("self::" + m.group(1))
            for m in re.finditer(r"\buse\s+(" + child + r"::[^;]*);", text):
                paths += ["self::" + e for e in expand(m.group(1))]
        for p in paths:
            segs = [s for s in p.split("::") if s]
            base = list(mod)
            if segs[0] == "crate":
                base, segs = [], segs[1:]
            else:
                # `super` of a file `a/b.rs` (module a::b) is a; of `a/b/mod.rs` also a.
                while segs and segs[0] in ("super", "self"):
                    if segs[0] == "super":
                        base = base[:-1]
                    elif not is_mod_file:
                        pass
                    segs = segs[1:]
            full = base + segs
            target = None
            for k in range(len(full), 0, -1):
                if tuple(full[:k]) in files:
                    target = files[tuple(full[:k])]
                    break
            if target and target != rel and not target.endswith("lib.rs"):
                edges[rel].add(target)
    if "--edges" in sys.argv:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{a} -> {b}")
        return
    # Tarjan
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(100000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
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
            sccs.append(comp)

    for v in sorted(files.values()):
        if v not in index:
            strong(v)
    circles = sorted((c for c in sccs if len(c) > 1), key=len, reverse=True)
    crossing = [c for c in circles if not inside_one_module(c)]
    if "--modules" in sys.argv:
        # One line per circle across modules: its top-level modules, sorted.
        print("\n".join(" ".join(sorted(tops_of(c))) for c in crossing))
        return
    for c in circles:
        where = "across modules" if c in crossing else "inside one module"
        print(f"circle of {len(c)} files, {where}:")
        for f in sorted(c):
            print(f"  {f}")
    if "--check" in sys.argv and crossing:
        sys.exit(1)


def tops_of(circle):
    """The top-level modules the files of `circle` belong to."""
    tops = set()
    for f in circle:
        k = f[:-3]
        if k.endswith("/mod"):
            k = k[: -len("/mod")]
        tops.add(k.split("/")[0])
    return tops


def inside_one_module(circle):
    """Whether every file of `circle` lies inside one top-level module (`audit/mod.rs`
    and `audit/chain.rs`; `web/frame.rs` and `web/session.rs`). A module's own files may
    refer to each other; two modules may not."""
    return len(tops_of(circle)) == 1


main()
