"""Hypothesis strategies for adapter fuzzing: vendors' fixtures, mutated; and plain junk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from vixpro.ingest.registry import ADAPTERS

ROOT = Path(__file__).parent / "fixtures"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def seeds() -> list[tuple[str, bytes]]:
    """(source, body) for every stored fixture and every adapter's sample."""
    found: list[tuple[str, bytes]] = []
    for source, adapter in sorted(ADAPTERS.items()):
        found.append((source, adapter.sample()))
        folder = ROOT / source
        if folder.is_dir():
            found.extend((source, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file())
    return found


SEEDS = seeds()


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc[:20]):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        copy = dict(doc)
        if delete and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(doc[head], rest, value, delete)
        return copy
    copy_list = list(doc)
    if delete and not rest:
        copy_list.pop(head)
    else:
        copy_list[head] = _replace(doc[head], rest, value, delete)
    return copy_list


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A fixture with one to three values replaced by random JSON, or keys removed."""
    source, body = draw(st.sampled_from(SEEDS))
    try:
        doc = json.loads(body)
    except ValueError:
        return source, body
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        delete = bool(path) and draw(st.booleans())
        doc = _replace(doc, path, draw(json_values), delete)
    return source, json.dumps(doc).encode()


@st.composite
def junk(draw: st.DrawFn) -> tuple[str, bytes]:
    source = draw(st.sampled_from(sorted(ADAPTERS)))
    body = draw(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
    return source, body
