"""Write docs/cli.md from the `wavbrivl` argument parsers: every command, every flag, its default and choices.

Run `python scripts/make_cli_docs.py` after changing a command; tests/test_docs_match_code.py checks that the page
equals what this script writes. The output depends only on the code: not on the terminal's width (argparse's help
formatter is never used), nor on the environment (the model variables are set aside while the parsers are built,
and a default that is a path inside this repository or the home folder is shown relative to it).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"
sys.path.insert(0, str(ROOT))  # the working tree's package, also when run as a script

DEFAULT_GROUPS = {"positional arguments", "options", "optional arguments"}  # argparse's own group titles
SHARED_HEADINGS = {"models": "Model flags"}  # a flag group many commands share gets one section of its own
ENV_PREFIX = "WAVBRIVL_"
WIDTH = 115  # prose is wrapped here, as in the other pages


@contextmanager
def _clean_environment() -> Iterator[None]:
    """Set the package's own variables aside ($WAVBRIVL_PRESETS adds --preset choices, for one)."""
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith(ENV_PREFIX)}
    try:
        yield
    finally:
        os.environ.update(saved)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of a parser's subcommands, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            seen: set[int] = set()
            found = []
            for name, sub in action.choices.items():
                if id(sub) not in seen:  # an alias maps to the same parser
                    seen.add(id(sub))
                    found.append((name, helps.get(name, ""), sub))
            return found
    return []


def _shown_path(text: str) -> str:
    """A path inside the repository as a relative one, the home folder as ~ (no machine's own paths)."""
    text = text.replace(str(ROOT) + os.sep, "").replace(str(ROOT), ".")
    home = str(Path.home())
    return text.replace(home, "~") if home not in ("/", "") else text


def _cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(value: object) -> str:
    text = _shown_path(str(value))
    return f"`{text}`" if text else '`""`'


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    """The action's help with argparse's %(...)s fields filled in, as argparse itself would."""
    text = action.help or ""
    if "%" not in text:
        return text
    params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    params["prog"] = parser.prog
    params = {k: getattr(v, "__name__", v) for k, v in params.items()}
    if params.get("choices") is not None:
        params["choices"] = ", ".join(map(str, params["choices"]))
    return text % params


def _takes(action: argparse.Action) -> str:
    """What the flag takes, in words."""
    if action.nargs == 0:
        return "switch"
    kind = {int: "integer", float: "number"}.get(action.type, "text")  # type: ignore[arg-type]
    if isinstance(action, argparse._AppendAction):
        return f"{kind}, repeatable"
    return {"+": f"{kind}, one or more", "*": f"{kind}, any number", "?": f"{kind}, optional"}.get(
        action.nargs,  # type: ignore[arg-type]
        kind,
    )


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.nargs == 0:
        return "off" if not action.default else "on"
    if action.default is None or action.default is argparse.SUPPRESS:
        return "—"
    if isinstance(action.default, (list, tuple)):
        return " ".join(_code(v) for v in action.default)
    return _code(action.default)


def _row(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    names = ", ".join(f"`{n}`" for n in action.option_strings) or f"`{action.dest}` (positional)"
    choices = ", ".join(_code(c) for c in action.choices) if action.choices else ""
    cells = [names, _takes(action), _default(action), choices, _help(action, parser)]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


TABLE_HEAD = ["| flag | takes | default | choices | what it does |", "| --- | --- | --- | --- | --- |"]


def _listed(actions: list[argparse.Action]) -> list[argparse.Action]:
    return [
        a
        for a in actions
        if a.help is not argparse.SUPPRESS
        and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction))
    ]


def _groups(parser: argparse.ArgumentParser) -> tuple[list[argparse.Action], list[argparse._ArgumentGroup]]:
    """The parser's own flags, and its named flag groups (the model flags, for one)."""
    own: list[argparse.Action] = []
    named = []
    for group in parser._action_groups:
        actions = _listed(group._group_actions)
        if not actions:
            continue
        if group.title in DEFAULT_GROUPS:
            own.extend(actions)
        else:
            named.append(group)
    return own, named


def _group_key(group: argparse._ArgumentGroup, parser: argparse.ArgumentParser) -> tuple[str, tuple[str, ...]]:
    return group.title or "", tuple(_row(a, parser) for a in _listed(group._group_actions))


def _group_name(title: str) -> str:
    return title.split(" (")[0].strip()


def _group_heading(title: str) -> str:
    name = _group_name(title)
    return SHARED_HEADINGS.get(name, f"{name[:1].upper()}{name[1:]} flags")


def reflow(text: str) -> str:
    """Prose paragraphs wrapped at WIDTH; headings, code and tables kept as they are."""
    blocks = []
    for block in text.split("\n\n"):
        if block.startswith(("#", "```", "|")):
            blocks.append(block)
        else:
            blocks.append(textwrap.fill(" ".join(block.split()), WIDTH, break_long_words=False, break_on_hyphens=False))
    return "\n\n".join(blocks)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _exclusive(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for group in parser._mutually_exclusive_groups:
        flags = ", ".join(f"`{a.option_strings[0] if a.option_strings else a.dest}`" for a in group._group_actions)
        lines.append(f"{'Exactly' if group.required else 'At most'} one of {flags}.")
    return lines


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> list[tuple]:
    """(words, help, parser) for every command and nested command, depth first in the parsers' order."""
    found = []
    for name, text, sub in _subcommands(parser):
        found.append(((*words, name), text, sub))
        found.extend(_commands(sub, (*words, name)))
    return found


INTRO = """\
# Command line

What every `wavbrivl` command does and takes: one page to look up a flag. It is written from the commands' own
parsers by `python scripts/make_cli_docs.py` (a test checks it is current), so each table lists every flag
`wavbrivl COMMAND --help` shows."""

EXAMPLES = """\
```bash
wavbrivl info                                     # which weights, from where, parameter counts, device
wavbrivl download --preset brivl                  # fetch its Hub files now; later runs need no network
wavbrivl embed --audio dog.wav --volume -6dB --out dog.npz
wavbrivl rank --audio dog.wav --images photos/ extra.jpg --volume +6dB --top 10 [--json]
wavbrivl generate --audio dog.wav --method vqgan --steps 200 --size 256 --seed 1 --volumes -12 -6 0 6 12 --out out/dog
wavbrivl generate --audio dog.wav --method decoder --sample-steps 10 --guidance 4 --out out/one-pass
wavbrivl generate --audio dog.wav --prompt "a sunny beach:0.5 | night:-0.5" --init-image start.jpg --out out/mix
wavbrivl generate --prompt "a red circle" --out out/text          # text prompts alone also work
wavbrivl rank --text "a large yellow triangle" --images photos/     # rank by a text (text tower)
wavbrivl classify --audio a.wav b.wav --classes "dog,rain,siren" --template "the sound of {}"   # zero-shot
wavbrivl evaluate --task esc50 --root ESC-50-master --out report/  # the paper's benchmarks (evaluation.md)
wavbrivl toyworld build --out wavbrivl/assets/toyworld   # rebuild the offline default (about an hour on 2 cores)
wavbrivl convert-brivl BriVL-1.0-5500w.pth --out weights/brivl-image \\
    --text-out weights/brivl-text --tokenizer hfl/chinese-roberta-wwm-ext   # official .pth -> project folders
```"""


def _notes() -> str:
    """The hand-written notes, with the figures they state read from the code."""
    from wavbrivl.data.audio import MAX_AUDIO_SECONDS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
    from wavbrivl.generation.checks import METHODS
    from wavbrivl.generation.config import MAX_SEED, RANDOM_SEED

    methods = ", ".join(f"`{m}`" for m in METHODS)
    seed_top = "2³²−1" if MAX_SEED == 2**32 - 1 else f"{MAX_SEED:,}"
    return f"""\
## Notes

**Volumes** are decibels (`-6`, `+6dB`) or linear factors (`0.5x`); a negative one may follow `--volume`
or `--volumes` as it is. Samples pushed beyond full scale are kept and reported (policy `allow`); the Python
pipeline's `clip_policy="clip"` hard-clips them instead.

**Generation.** `generate` writes every `--every`-th step and the final image per volume (`vol-6dB_final.png`,
...; `text_final.png` for text alone), plus `summary.json` with the seed, the method and each picture's
similarity. The method ({methods}), steps, size, learning rate, cutouts, sampling steps and guidance default to
the loaded model set's own (`generation` in its `model_index.json`; the offline default's method is its decoder).
A set without a decoder refuses `--method decoder` with a message that names `vqgan`; a preset that names no
generator at all is refused before anything loads. The seed is a whole number from 0 to {seed_top} (default 0),
or `{RANDOM_SEED}` for a random one, which is written to `summary.json` (the command does not print it); Python
and the app check seeds the same way.

**Prompts** are `words` or `words:weight`, repeated (`--prompt` again) or joined with `|`; a negative weight
steers away from the words, and `--audio-weight` sets the sound's own weight among them. Text needs a text tower
(every shipped preset but `tiny-random` has one).

**Audio**: wav, flac, ogg (Vorbis or Opus), mp3, m4a/aac, webm/opus, mp4 audio, and the sound track of
videos (mp4, webm, mkv, mov…); a rate from {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz, up to 16 channels
(averaged to mono), int or float samples; a sound longer than {MAX_AUDIO_SECONDS:g} s is cropped to its first
{MAX_AUDIO_SECONDS:g} s (and you are told). Files are decoded in-process by libsndfile (`soundfile`) and, for what
it cannot read, by the FFmpeg libraries bundled in PyAV's wheels (`av`): no `ffmpeg` or `ffprobe` program is
needed. **Images**: any file PIL reads, in any mode (made RGB; transparent pixels onto white); a folder given to
`--images` stands for the JPEG, PNG, WebP, BMP, GIF and TIFF files directly inside it.

**Rebuilding the offline default** (`wavbrivl toyworld build`) trains every part of it on 2 CPU cores in about an
hour, plus about 9 minutes for its held-out evaluation
([BENCHMARKS.md](../BENCHMARKS.md#the-offline-default-model-set-and-generation))."""


def _model_flag_prose(users: list[str]) -> str:
    listed = ", ".join(f"`{u}`" for u in users)
    return f"""\
The commands that name a model set ({listed}) take these flags. A flag beats its environment variable (named
in its help), which beats the settings file (`wavbrivl.json` in the current folder, or the one `--config` or
`$WAVBRIVL_CONFIG` names), which beats the preset. A sound-driven command refuses an audio tower that was never
trained unless `--allow-untrained` is given."""


def render() -> str:
    """docs/cli.md as the parsers describe it now."""
    with _clean_environment():
        from wavbrivl.cli import build_parser

        parser = build_parser()
        commands = _commands(parser)
        notes = _notes()

    # named flag groups shared by several commands are written once
    uses: dict[tuple, list[str]] = {}
    for words, _, sub in commands:
        for group in _groups(sub)[1]:
            uses.setdefault(_group_key(group, sub), []).append(" ".join(words))
    shared = {key: users for key, users in uses.items() if len(users) > 1}

    lines = [reflow(INTRO), "", "## Commands", "", "| command | what it does |", "| --- | --- |"]
    for words, text, _ in commands:
        heading = f"`{' '.join(('wavbrivl', *words))}`"
        lines.append(f"| [{heading}](#{anchor(heading)}) | {_cell(text)} |")
    lines += ["", "## Examples", "", EXAMPLES, "", reflow(notes)]

    for (title, rows), users in shared.items():
        heading = _group_heading(title)
        prose = (
            reflow(_model_flag_prose(users))
            if heading == SHARED_HEADINGS.get("models")
            else (f"{title}; taken by " + ", ".join(f"`{u}`" for u in users) + ".")
        )
        lines += ["", f"## {heading}", "", prose, "", *TABLE_HEAD, *rows]

    for words, text, sub in commands:
        level = "#" * (len(words) + 1)
        lines += ["", f"{level} `{' '.join(('wavbrivl', *words))}`", "", _cell(text[:1].upper() + text[1:]) + "."]
        nested = _subcommands(sub)
        if nested:
            listed = ", ".join(f"`{name}`" for name, _, _ in nested)
            lines += ["", f"Its commands: {listed}."]
        own, named = _groups(sub)
        rows = [_row(a, sub) for a in own]
        also = []
        for group in named:
            key = _group_key(group, sub)
            if key in shared:
                heading = _group_heading(key[0])
                also.append(f"[{heading[:1].lower()}{heading[1:]}](#{anchor(heading)})")
            else:
                rows += [_row(a, sub) for a in _listed(group._group_actions)]
        if rows:
            lines += ["", *TABLE_HEAD, *rows]
        after = _exclusive(sub) + ([f"It also takes the {' and the '.join(also)}."] if also else [])
        if after:
            lines += ["", " ".join(after)]
    return "\n".join(lines) + "\n"


def main() -> int:
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
