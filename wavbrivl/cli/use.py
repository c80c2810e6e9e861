"""`wavbrivl info|embed|rank|generate|classify`: using a model set."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from wavbrivl.cli.common import (
    add_model_args,
    add_volume_arg,
    choice_from_args,
    heard,
    load,
    print_notes,
    volumes_from,
)
from wavbrivl.generation.registry import METHODS


def cmd_info(args: argparse.Namespace) -> int:
    """Print which weights are loaded, from where, their sizes and the device."""
    info = load(args, load_generators=False).info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"preset: {info['preset']}  ({info['description']})\ndevice: {info['device']}  embed dim: {info['embed_dim']}"
    )
    for name, part in info["components"].items():
        state = "trained" if part["trained"] else "UNTRAINED"
        print(f"  {name:12s} {part['class']:20s} {part['parameters']:>12,d} params  {state}  from {part['source']}")
        if part["note"]:
            print(f"  {'':12s} {part['note']}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    """Fetch the Hub files of a model set ahead of time, exactly those its loaders read."""
    from wavbrivl.loading.download import download

    fetched = download(choice_from_args(args), log=lambda line: print(line, file=sys.stderr))
    if args.json:
        print(json.dumps([dataclasses.asdict(f) for f in fetched]))
    else:
        total = sum(f.size for f in fetched)
        print(f"{len(fetched)} repos, {sum(len(f.files) for f in fetched)} files, {total / 1e6:,.1f} MB in the cache")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed a sound (and optionally images) and save or print the vectors."""
    pipe = load(args, load_generators=False, sound=True)
    result = pipe.embed_audio(args.audio, volumes_from(args))
    print_notes(heard(pipe, result))
    arrays = {"audio": result.embeddings.numpy()}
    if args.images:
        arrays["images"] = pipe.embed_images(args.images).numpy()
    if args.out:
        np.savez(args.out, **arrays)
        print(f"wrote {args.out}")
    else:
        print(json.dumps({k: v.round(6).tolist() for k, v in arrays.items()}))
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    """Rank images by how well they match the sound."""
    from tqdm import tqdm

    from wavbrivl.data.image import list_image_files
    from wavbrivl.ranking import rank_embeddings

    pipe = load(args, load_generators=False, sound=args.audio is not None)
    files: list[Path] = []
    for item in args.images:
        files.extend(list_image_files(item) if Path(item).is_dir() else [Path(item)])
    if args.segment is not None:  # one embedding per segment of a long sound; says each image's best segment
        from wavbrivl.cli.make import rank_by_segment

        return rank_by_segment(args, pipe, files)
    # the query first: a sound that cannot be read is reported before the gallery is embedded
    query = pipe.embed_text([args.text]) if args.text is not None else pipe.embed_audio(args.audio, volumes_from(args))
    with tqdm(total=len(files), desc="embedding images", unit="img", disable=args.json) as bar:
        image_embeds = pipe.embed_images(files, progress=lambda done, total: bar.update(done - bar.n))
    if args.text is not None:
        result = rank_embeddings(query, image_embeds)
    else:
        print_notes(heard(pipe, query))
        result = pipe.rank(query, image_embeds)
    ranked = result.ranked(0)[: args.top or None]
    if args.json:
        print(json.dumps([{"rank": r + 1, "image": str(files[i]), "score": s} for r, (i, s) in enumerate(ranked)]))
    else:
        for r, (i, s) in enumerate(ranked):
            print(f"{r + 1:4d}  {s:+.4f}  {files[i]}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate images from a sound, one per volume, writing every k-th step and the final image."""
    from tqdm import tqdm

    from wavbrivl.film import FilmWriter, step_frame

    film = FilmWriter(args.film) if args.film else None  # a wrong suffix is said before any model work
    pipe = load(args, sound=args.audio is not None)
    volumes = volumes_from(args)
    flags = {
        "steps": args.steps,
        "size": args.size,
        "lr": args.lr,
        "cutn": args.cutn,
        "tv_weight": args.tv_weight,
        "method": args.method,
        "sample_steps": args.sample_steps,
        "guidance_scale": args.guidance,
        "noise_level": args.noise_level,
    }
    given = {name for name, value in flags.items() if value is not None}  # fmt: skip
    request = pipe.prepare(args.audio, volumes, pipe.generation_config(**flags, seed=args.seed), args.prompt,
                           args.audio_weight, args.init_image, given)  # fmt: skip
    print_notes(list(request.notes))
    config, out = request.config, Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [f"vol{v:+g}dB" for v in volumes] if request.sound is not None else ["text"]
    total = config.steps if config.method == "vqgan" else config.sample_steps
    with tqdm(total=total, desc=f"generating ({config.method})", unit="step") as bar:
        for step in pipe.generate(request):
            if film is not None:  # one frame per step, the pictures side by side
                film.add(step_frame(step, names if len(names) > 1 else None))
            if step.final or (args.every and step.step % args.every == 0):
                suffix = "final" if step.final else f"step{step.step:04d}"
                for name, image in zip(names, step.images):
                    image.save(out / f"{name}_{suffix}.png")
            if not step.final:
                bar.update(step.step + 1 - bar.n)  # a method may report every few steps
                bar.set_postfix(similarity=f"{np.mean(step.similarity):+.3f}")
    summary = {
        name: {"similarity": s, "image": str(out / f"{name}_final.png")} for name, s in zip(names, step.similarity)
    }
    (out / "summary.json").write_text(
        json.dumps({"seed": config.seed, "method": config.method, "steps": total, "results": summary}, indent=2)
    )
    print(f"seed {config.seed}, method {config.method}")
    if film is not None:
        info = film.close()
        print(f"film: {info.frames} frames, {info.width}x{info.height}, {info.codec} -> {info.path}")
    for name, item in summary.items():
        print(f"{name}: similarity {item['similarity']:+.4f} -> {item['image']}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Zero-shot classification of sounds (or images) by class-name prompts through the text tower."""
    pipe = load(args, load_generators=False, sound=args.audio is not None)
    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.classes_file:
        names = [line.strip() for line in Path(args.classes_file).read_text().splitlines() if line.strip()]
    if args.audio is not None:
        items, embedded = args.audio, pipe.embed_audio(args.audio)
        print_notes(heard(pipe, embedded))
        queries = embedded.embeddings
    else:
        from wavbrivl.data.image import list_image_files

        items = [str(f) for item in args.images for f in (list_image_files(item) if Path(item).is_dir() else [item])]
        queries = pipe.embed_images(items)
    result = pipe.zero_shot(queries, names, args.template or ["{}"])
    key = "audio" if args.audio is not None else "image"
    rows = [{key: item, "top": result.top(n, args.top)} for n, item in enumerate(items)]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(row[key] + ": " + ", ".join(f"{name} {score:+.3f}" for name, score in row["top"]))
    return 0


def add_info_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl info`."""
    p = sub.add_parser("info", help="show the loaded weights, their sources and sizes")
    p.add_argument("--json", action="store_true", help="print the result as JSON (for programs)")
    p.set_defaults(func=cmd_info)
    add_model_args(p)


def add_download_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl download`."""
    p = sub.add_parser("download", help="fetch a model set's Hub files ahead of time (then it runs offline)")
    p.add_argument("--json", action="store_true", help="print what was fetched as JSON")
    p.set_defaults(func=cmd_download)
    add_model_args(p)


def add_embed_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl embed`."""
    p = sub.add_parser("embed", help="embed a sound (and images)")
    p.add_argument("--audio", required=True, help="a sound file (wav, flac, mp3, ogg, m4a, a video's sound)")
    add_volume_arg(p)
    p.add_argument("--images", nargs="*", default=None, help="also embed these image files")
    p.add_argument("--out", default=None, help=".npz file to write (default: print JSON)")
    p.set_defaults(func=cmd_embed)
    add_model_args(p)


def add_rank_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl rank`."""
    p = sub.add_parser("rank", help="rank images by a sound (or by a text)")
    query = p.add_mutually_exclusive_group(required=True)
    query.add_argument("--audio", help="rank by this sound file")
    query.add_argument("--text", help="rank by a text through the text tower instead of a sound")
    p.add_argument("--images", nargs="+", required=True, help="image files and/or folders")
    add_volume_arg(p)
    p.add_argument("--top", type=int, default=0, help="print only the best K")
    p.add_argument(
        "--segment",
        type=float,
        default=None,
        help="seconds: embed each segment of a long sound; say which segment matched each image best",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON (for programs)")
    p.set_defaults(func=cmd_rank)
    add_model_args(p)


def add_generate_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl generate`."""
    p = sub.add_parser("generate", help="generate images from a sound (and weighted text prompts)")
    p.add_argument("--audio", default=None, help="the sound to draw (optional with --prompt)")
    p.add_argument(
        "--prompt",
        action="append",
        default=None,
        help="text prompt 'words' or 'words:weight' (negative: avoid); repeat or join with '|'",
    )
    p.add_argument("--audio-weight", type=float, default=1.0, help="weight of the sound among the prompts")
    vol = p.add_mutually_exclusive_group()
    add_volume_arg(vol)
    vol.add_argument("--volumes", nargs="+", default=None, help="several gains, generated together in one batch")
    p.add_argument("--steps", type=int, default=None, help="default: the model set's")
    p.add_argument("--size", type=int, default=None, help="pixels; default: the model set's")
    p.add_argument(
        "--seed", type=int, default=0, help="-1: a random seed (the seed used is printed and in summary.json)"
    )
    p.add_argument("--lr", type=float, default=None, help="vqgan: the latents' learning rate (default: the set's)")
    p.add_argument("--cutn", type=int, default=None, help="vqgan: cutouts per step (default: the set's)")
    p.add_argument("--tv-weight", type=float, default=None, help="vqgan: total-variation penalty (default: the set's)")
    p.add_argument("--init-image", default=None, help="vqgan: the starting picture; one-pass methods: a target")
    p.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="decoder: one sampling pass of the set's decoder; vqgan: the paper's latent optimisation; unclip: "
        "Stable unCLIP (default: the model set's)",
    )
    p.add_argument("--sample-steps", type=int, default=None, help="decoder / unclip: sampling steps")
    p.add_argument("--guidance", type=float, default=None, help="decoder / unclip: guidance scale")
    p.add_argument("--noise-level", type=int, default=None, help="unclip: noise on the image embedding (0-999)")
    p.add_argument("--every", type=int, default=10, help="also write every k-th step (0: final only)")
    p.add_argument("--out", required=True, help="folder for the pictures and summary.json")
    p.add_argument("--film", default=None, help="also write every step as a film (.mp4 or .webp); volumes side by side")
    p.set_defaults(func=cmd_generate, needs_generator=True)
    add_model_args(p)


def add_classify_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl classify`."""
    p = sub.add_parser("classify", help="zero-shot: which class names sounds (or images) match (text tower)")
    query = p.add_mutually_exclusive_group(required=True)
    query.add_argument("--audio", nargs="+", help="sound files")
    query.add_argument("--images", nargs="+", help="image files and/or folders (instead of sounds)")
    p.add_argument("--classes", default="", help="comma-separated class names")
    p.add_argument("--classes-file", default=None, help="one class name per line (instead of --classes)")
    p.add_argument("--template", action="append", default=None, help="prompt template with {} (repeatable)")
    p.add_argument("--top", type=int, default=3, help="how many best classes to show per item")
    p.add_argument("--json", action="store_true", help="print the result as JSON (for programs)")
    p.set_defaults(func=cmd_classify)
    add_model_args(p)
