"""Weighted prompts for generation: text with a weight, in the 'text:weight | text:weight' notation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wavbrivl.errors import InputError


@dataclass(frozen=True)
class Prompt:
    """A text the image should match (weight > 0) or avoid (weight < 0)."""

    text: str
    weight: float = 1.0


def parse_prompt(spec: str) -> Prompt:
    """'a red circle' or 'a red circle:0.5' or 'blue:-1' (a trailing ':number' is the weight, unless a digit
    comes right before the colon, as in '12:30')."""
    text, sep, tail = spec.strip().rpartition(":")
    weight = 1.0
    if sep and not text.rstrip().endswith(tuple("0123456789")):  # '12:30' is a time, not a weight
        try:
            weight = float(tail)
        except ValueError:
            text, weight = spec.strip(), 1.0
    else:
        text = spec.strip()
    text = text.strip()
    if not text:
        raise InputError(f"prompt {spec!r} has no text; write 'some words' or 'some words:weight'")
    if not abs(weight) <= 1e6:  # NaN, ±inf and '1e999' (which reads as inf) fail this too
        raise InputError(f"prompt {spec.strip()[:60]!r}: weight {tail.strip()!r} is not a finite number within ±1e6")
    if weight == 0:
        raise InputError(f"prompt {spec!r} has weight 0; use a positive weight to match or a negative one to avoid")
    return Prompt(text, weight)


def parse_prompts(prompts: str | Prompt | Sequence[str | Prompt] | None) -> list[Prompt]:
    """Prompts from one 'a:1 | b:-0.5' string, a list of such strings, or Prompt objects."""
    if prompts is None:
        return []
    if isinstance(prompts, (str, Prompt)):
        prompts = [prompts]
    out: list[Prompt] = []
    for item in prompts:
        if isinstance(item, Prompt):
            out.append(item)
        elif isinstance(item, str):
            out += [parse_prompt(part) for part in item.split("|") if part.strip()]
        else:
            raise InputError(f"prompt {item!r}: expected text or a Prompt")
    return out
