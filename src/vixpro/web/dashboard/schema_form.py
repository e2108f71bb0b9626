"""A tool's JSON-schema ``parameters`` as HTML form fields, and submitted form text back as typed
parameters.

Form inputs are named ``params.<name>`` so that an error from the form and an error from the
service's own validation name the field the same way. Conversion only turns text into the
schema's types; the limits (minimum, pattern, required...) are checked by the service, once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vixpro.accounts.errors import InvalidInput

PREFIX = "params."
Widget = Literal["text", "number", "checkbox", "select", "lines", "json"]


@dataclass(frozen=True)
class FormField:
    name: str
    widget: Widget
    required: bool
    description: str
    value: str  # what the input shows: the submitted text, else the schema's default
    checked: bool = False
    options: tuple[str, ...] = ()
    step: str = "any"
    minimum: str = ""
    maximum: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "param-" + self.name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _widget(schema: Mapping[str, Any]) -> Widget:
    kind = schema.get("type")
    if "enum" in schema:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array" and schema.get("items", {}).get("type") in ("string", "integer", "number"):
        return "lines"
    if kind in ("array", "object"):
        return "json"
    return "text"


def form_fields(
    schema: Mapping[str, Any], submitted: Mapping[str, str] | None = None
) -> list[FormField]:
    """One field per property of an object schema, showing ``submitted`` text when re-shown."""
    required = set(schema.get("required", []))
    fields = []
    for name, sub in schema.get("properties", {}).items():
        widget = _widget(sub)
        given = submitted.get(name) if submitted is not None else None
        value = given if given is not None else _text(sub.get("default"))
        if widget == "checkbox":
            checked = (
                given is not None if submitted is not None else bool(sub.get("default", False))
            )
        else:
            checked = False
        fields.append(
            FormField(
                name=name,
                widget=widget,
                required=name in required,
                description=str(sub.get("description", sub.get("title", ""))),
                value=value,
                checked=checked,
                options=tuple(_text(option) for option in sub.get("enum", ())),
                step="1" if sub.get("type") == "integer" else "any",
                minimum=_text(sub.get("minimum")),
                maximum=_text(sub.get("maximum")),
            )
        )
    return fields


def submitted_text(form: Mapping[str, Any]) -> dict[str, str]:
    """The ``params.*`` inputs of a submitted form, by parameter name."""
    return {
        key.removeprefix(PREFIX): str(value)
        for key, value in form.items()
        if key.startswith(PREFIX) and isinstance(value, str)
    }


def _scalar(text: str, schema: Mapping[str, Any], field: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(field, "must be a whole number") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise InvalidInput(field, "must be a number") from None
        if not math.isfinite(number):
            raise InvalidInput(field, "must be a finite number")
        return number
    if kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "on", "1", "yes"):
            return True
        if lowered in ("false", "off", "0", "no", ""):
            return False
        raise InvalidInput(field, "must be true or false")
    return text


def parse(schema: Mapping[str, Any], submitted: Mapping[str, str]) -> dict[str, Any]:
    """Typed parameters from ``submitted`` text (see :func:`submitted_text`).

    An empty optional input is left out so that the tool's default applies; an unticked
    checkbox is ``false``, because that is what the person saw.
    """
    params: dict[str, Any] = {}
    for name, sub in schema.get("properties", {}).items():
        field = PREFIX + name
        widget = _widget(sub)
        if widget == "checkbox":
            params[name] = name in submitted and _scalar(submitted[name] or "on", sub, field)
            continue
        text = submitted.get(name, "")
        if widget != "json":
            text = text.strip()
        if not text.strip():
            continue
        if widget == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            params[name] = [
                _scalar(line, sub["items"], f"{field}[{i}]") for i, line in enumerate(lines)
            ]
        elif widget == "json":
            try:
                params[name] = json.loads(text)
            except ValueError:
                raise InvalidInput(field, "must be valid JSON") from None
        else:
            params[name] = _scalar(text, sub, field)
    return params
