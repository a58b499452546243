"""The regular expressions the scanner runs, built from `patterns.TOKEN_FORMATS`: one
anchor pass for all formats, and each format's exact whole-token pattern."""

from __future__ import annotations

import re

from notion_leakguard.patterns import TokenFormat


def exact_pattern(fmt: TokenFormat, *, end: bool = True) -> str:
    """The whole match of a format: groups `prefix` (shown in previews) and `body`."""
    anchors = "|".join(re.escape(anchor) for anchor in fmt.anchors)
    tail = f"(?P<body>{fmt.body}){fmt.end if end else ''}"
    if fmt.anchor_is_prefix:
        return f"(?P<prefix>{anchors}){fmt.between}{tail}"
    return f"(?:{anchors}){fmt.between}(?P<prefix>){tail}"


def compile_anchors(
    formats: tuple[TokenFormat, ...], *, end: bool
) -> tuple[re.Pattern[bytes], dict[str, tuple[TokenFormat, int]]]:
    """One pass for all formats: `_`, the rest of an anchor around it, and what must follow
    (checked in the regular expression engine, so that text full of near misses such as
    `secret_…` identifiers never comes back to Python).

    `_` as the literal first character lets the engine skip ahead with a fast search; one
    look-behind at the characters just before it (as many as the shortest prefix has, a
    class per position) rejects most `_` at once. Each alternative then starts by consuming
    the character after the `_`, which the engine tests before it enters the alternative,
    and only then looks back at the anchor and ahead at the token, in one assertion: text
    full of near misses (`ntn_ntn_…`) costs two cheap tests per `_`, not one per format.
    """
    by_first: dict[str, list[str]] = {}  # look-behinds by the character after the `_`
    groups: dict[str, tuple[TokenFormat, int]] = {}
    for fmt in formats:
        for anchor in fmt.anchors:
            head, _, tail = anchor.partition("_")
            name = f"a{len(groups)}"
            groups[name] = (fmt, len(head))
            rest = f"{re.escape(tail)}{fmt.between}{fmt.body}{fmt.end if end else ''}"
            first = re.escape(tail[0]) if tail else leading_class(rest)
            behind = f"(?<={re.escape(head)}_(?={rest}){first})(?P<{name}>)"
            by_first.setdefault(first, []).append(behind)
    # One-character tests first, broad classes last.
    branches = "|".join(
        f"{first}(?:{'|'.join(behinds)})"
        for first, behinds in sorted(by_first.items(), key=lambda item: len(item[0]))
    )
    # Before the `_`: the last characters every prefix has, each position a class of its own.
    heads = [anchor.partition("_")[0] for fmt in formats for anchor in fmt.anchors]
    width = min(len(head) for head in heads)
    before = "".join(
        f"[{''.join(sorted({re.escape(head[i - width]) for head in heads}))}]" for i in range(width)
    )
    return re.compile(f"_(?<={before}_)(?:{branches})".encode()), groups


# A literal (plain or escaped punctuation) or a character class, not made optional.
_LEADING = re.compile(
    r"(\\[^0-9A-Za-z]|\[(?:\\.|[^\]\\])+\]|[^\\\[\](){}?*+|^$.])(?![?*]|\{,|\{0+[,}])"
)


def leading_class(regex: str) -> str:
    """The first character `regex` consumes, as a pattern of its own; any character when
    that is not plain to see (a group, an alternation, an optional start)."""
    match = _LEADING.match(regex)
    return match.group(1) if match and "|" not in regex else "(?s:.)"
