"""`wavbrivl blend|segments`: pictures along a blend of two sources, and a long sound segment by segment."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from wavbrivl.cli.common import add_model_args, add_volume_arg, load, print_notes, volumes_from
from wavbrivl.data.audio import MAX_AUDIO_SECONDS
from wavbrivl.errors import InputError
from wavbrivl.generation.registry import METHODS

if TYPE_CHECKING:
    from wavbrivl.generation.config import GenerationConfig
    from wavbrivl.pipeline import WavBriVLPipeline


def _config(pipe: WavBriVLPipeline, args: argparse.Namespace) -> GenerationConfig:
    """The generation settings the flags name over the set's defaults."""
    flags = {"method": args.method, "sample_steps": args.sample_steps, "guidance_scale": args.guidance}
    return pipe.generation_config(**flags, seed=args.seed)


@contextmanager
def _sampling_threads(pipe: WavBriVLPipeline, config: GenerationConfig) -> Iterator[None]:
    """One torch thread for a method that runs faster so on the CPU (the decoder, as the app does), then restored."""
    import torch

    from wavbrivl.generation.registry import REGISTRY

    before = torch.get_num_threads()
    one = pipe.device.type == "cpu" and config.method in REGISTRY and REGISTRY[config.method].one_thread
    if one and before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _gallery_files(items: list[str] | None) -> list[Path]:
    """Image files from files and folders."""
    from wavbrivl.data.image import list_image_files

    files: list[Path] = []
    for item in items or []:
        files.extend(list_image_files(item) if Path(item).is_dir() else [Path(item)])
    return files


def cmd_blend(args: argparse.Namespace) -> int:
    """Pictures along the blend of two sounds, or of a sound and a text or a picture; a strip, JSON, film."""
    from wavbrivl.blend import blend, describe_ends, image_end, sound_end, text_end
    from wavbrivl.film import compose_frame, film_format, film_of_pictures

    others = len(args.sounds) - 1 + (args.text is not None) + (args.image is not None)
    if others != 1:
        raise InputError("a blend has two ends: give two sounds, or one sound with --text or --image")
    if args.film:
        film_format(args.film)  # a wrong suffix is said before any model work
    pipe = load(args, sound=True)
    volume = volumes_from(args)[0]
    ends = [sound_end(pipe, s, volume) for s in args.sounds]
    if args.text is not None:
        ends.append(text_end(pipe, args.text))
    elif args.image is not None:
        ends.append(image_end(pipe, args.image))
    print_notes([note for end in ends for note in end.notes])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = _config(pipe, args)
    with _sampling_threads(pipe, config):
        done = blend(
            pipe, ends[0], ends[1], args.steps, config, lambda k, n: print(f"picture {k}/{n}", file=sys.stderr)
        )
    labels = [f"t={t:.2f}" for t in done.positions]
    facts = {"ends": describe_ends(ends), **done.as_dict()}
    for index, (picture, row) in enumerate(zip(done.pictures, facts["pictures"])):
        row["image"] = str(out / f"blend_{index:02d}.png")
        picture.save(row["image"])
    compose_frame(done.pictures, labels, min_height=128).save(out / "strip.png")
    facts["strip"] = str(out / "strip.png")
    if args.film:
        info = film_of_pictures(done.pictures, args.film, labels)
        facts["film"] = {"path": str(info.path), "frames": info.frames, "codec": info.codec}
    (out / "blend.json").write_text(json.dumps(facts, indent=2))
    print(f"seed {done.config.seed}, method {done.config.method}: {len(done.pictures)} pictures -> {out}")
    for row in facts["pictures"]:
        print(
            f"t={row['t']:.2f}  to a {row['similarity_to_a']:+.3f}  to b {row['similarity_to_b']:+.3f}  {row['image']}"
        )
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    """A long sound segment by segment: a picture and the best gallery matches each; a contact sheet and JSON."""
    from wavbrivl.data.image import load_images
    from wavbrivl.segments import embed_segments, segment_sheet, study_as_dict, study_segments

    pipe = load(args, sound=True)
    files = _gallery_files(args.images)
    config = _config(pipe, args)
    segments = embed_segments(pipe, args.audio, args.segment, volumes_from(args)[0])
    print_notes(segments.notes)  # before any picture
    with _sampling_threads(pipe, config):
        study = study_segments(pipe, segments, args.segment, files or None, args.top, config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    facts = study_as_dict(study, [str(f) for f in files])
    for index, picture in enumerate(study.pictures):
        facts["segments"][index]["picture"] = str(out / f"segment_{index:02d}.png")
        picture.save(facts["segments"][index]["picture"])
    segment_sheet(study, load_images(files) if files else None, [f.name for f in files]).save(out / "sheet.png")
    facts["sheet"] = str(out / "sheet.png")
    (out / "segments.json").write_text(json.dumps(facts, indent=2))
    print(f"{len(study.pictures)} segments of {args.segment:g} s, seed {study.config.seed} -> {out}")
    for row in facts["segments"]:
        best = row["matches"][0] if row["matches"] else None
        match = f"  best {best['image']} {best['score']:+.3f}" if best else ""
        print(f"#{row['index']}  {row['start']:.2f}-{row['end']:.2f} s  {row['picture']}{match}")
    return 0


def rank_by_segment(args: argparse.Namespace, pipe: WavBriVLPipeline, files: list[Path]) -> int:
    """`rank --segment`: the images by their best segment's cosine, with which segment that was."""
    from wavbrivl.segments import embed_segments, rank_by_segments, ranked_image

    if args.audio is None:
        raise InputError("--segment cuts a sound into segments: it needs --audio")
    segments = embed_segments(pipe, args.audio, args.segment, volumes_from(args)[0])
    print_notes(segments.notes)
    ranking = rank_by_segments(segments.embeddings, pipe.embed_images(files))
    rows = [{"rank": r + 1, **ranked_image(ranking, segments, i, str(files[i]))}
            for r, i in enumerate(ranking.order[: args.top or None])]  # fmt: skip
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        span = f"#{row['segment']} {row['start']:.1f}-{row['end']:.1f} s"
        print(f"{row['rank']:4d}  {row['score']:+.4f}  {span:>16s}  {row['image']}")
    return 0


def _add_generation_args(p: argparse.ArgumentParser) -> None:
    """The generation flags blend and segments share."""
    p.add_argument("--seed", type=int, default=0, help="one seed for every picture (-1: a random one, printed)")
    p.add_argument("--method", choices=METHODS, default=None, help="generation method (default: the model set's)")
    p.add_argument("--sample-steps", type=int, default=None, help="decoder / unclip: sampling steps")
    p.add_argument("--guidance", type=float, default=None, help="decoder / unclip: guidance scale")


def add_blend_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl blend`."""
    p = sub.add_parser("blend", help="pictures along the blend of two sounds, or of a sound and a text or picture")
    p.add_argument("sounds", nargs="+", help="one or two sound files (the blend's first end, then its second)")
    other = p.add_mutually_exclusive_group()
    other.add_argument("--text", default=None, help="the second end: a text (through the text tower)")
    other.add_argument("--image", default=None, help="the second end: a picture (through the image tower)")
    p.add_argument("--steps", type=int, default=8, help="pictures along the blend, both ends included (2-64)")
    add_volume_arg(p)
    _add_generation_args(p)
    p.add_argument("--film", default=None, help="also write the pictures as a film (.mp4 or .webp)")
    p.add_argument("--out", required=True, help="folder for blend_NN.png, strip.png and blend.json")
    p.set_defaults(func=cmd_blend, needs_generator=True)
    add_model_args(p)


def add_segments_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl segments`."""
    p = sub.add_parser("segments", help="a long sound segment by segment: a picture and gallery matches each")
    p.add_argument("--audio", required=True, help=f"the sound (cut to its first {MAX_AUDIO_SECONDS} s)")
    p.add_argument("--segment", type=float, default=1.0, help="segment length in seconds (a last piece is kept if at "
                   "least half a segment)")  # fmt: skip
    p.add_argument("--images", nargs="*", default=None, help="gallery image files and/or folders (optional)")
    p.add_argument("--top", type=int, default=3, help="gallery matches kept per segment")
    add_volume_arg(p)
    _add_generation_args(p)
    p.add_argument("--out", required=True, help="folder for segment_NN.png, sheet.png and segments.json")
    p.set_defaults(func=cmd_segments, needs_generator=True)
    add_model_args(p)
