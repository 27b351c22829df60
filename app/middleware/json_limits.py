"""JSON request bodies: size is bounded by the body limit (MAX_CONTENT_LENGTH), depth here.

The requests this API takes are flat objects. Python's parser recurses once per level and
raises RecursionError (not a ValueError) near 1000 levels, which Flask's get_json(silent=True)
does not catch; any body nested deeper than MAX_JSON_DEPTH is refused as malformed instead.
"""
from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_JSON_DEPTH = 20


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item)
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing (ValueError, so get_json(silent=True) gives None) overly nested input."""

    max_depth = MAX_JSON_DEPTH

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if json_depth(value) > self.max_depth:
            raise ValueError(f"JSON nested deeper than {self.max_depth} levels")
        return value
