"""The `wavbrivl` command line: a thin view over WavBriVLPipeline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wavbrivl.configs import BRIVL_TOKENIZER
from wavbrivl.errors import InputError, WavBriVLError
from wavbrivl.generation import resolve_seed
from wavbrivl.presets import load_preset
from wavbrivl.settings import add_model_args, choice_from_args, load_pipeline
from wavbrivl.volume import VOLUME_SYNTAX, parse_volume


def _load(args: argparse.Namespace, need_vqgan: bool = True):
    """The pipeline the model flags, environment variables and wavbrivl.json name, with untrained parts flagged."""
    pipe = load_pipeline(choice_from_args(args), need_vqgan=need_vqgan)
    for name in pipe.untrained:
        note = pipe.provenance[name].note
        print(f"WARNING: {name} is UNTRAINED ({note}); its outputs are not meaningful.", file=sys.stderr)
    return pipe


def _volumes(args: argparse.Namespace) -> list[float]:
    values = getattr(args, "volumes", None) or [getattr(args, "volume", "0")]
    return [parse_volume(v) for v in values]


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def cmd_info(args: argparse.Namespace) -> int:
    """Print which weights are loaded, from where, their sizes and the device."""
    info = _load(args).info()
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


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed a sound (and optionally images) and save or print the vectors."""
    pipe = _load(args)
    result = pipe.embed_audio(args.audio, _volumes(args))
    _print_notes(result.notes)
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

    pipe = _load(args)
    files: list[Path] = []
    for item in args.images:
        files.extend(list_image_files(item) if Path(item).is_dir() else [Path(item)])
    with tqdm(total=len(files), desc="embedding images", unit="img", disable=args.json) as bar:
        image_embeds = pipe.embed_images(files, progress=lambda done, total: bar.update(done - bar.n))
    if args.text is not None:
        result = pipe.rank_text(args.text, image_embeds)
    else:
        audio = pipe.embed_audio(args.audio, _volumes(args))
        _print_notes(audio.notes)
        result = pipe.rank(audio, image_embeds)
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

    pipe = _load(args)
    volumes = _volumes(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed = resolve_seed(args.seed)
    config = pipe.generation_config(steps=args.steps, size=args.size, lr=args.lr, cutn=args.cutn, seed=seed)
    if args.audio is None and not args.prompt:
        raise InputError("give a sound (--audio), text prompts (--prompt 'words:weight'), or both")
    embedded = None
    if args.audio is not None:
        embedded = pipe.embed_audio(args.audio, volumes)
        _print_notes(embedded.notes)
    steps = pipe.generate(
        embedded,
        config=config,
        init_image=args.init_image,
        prompts=args.prompt,
        audio_weight=args.audio_weight,
    )
    names = [f"vol{v:+g}dB" for v in volumes] if embedded is not None else ["text"]
    with tqdm(total=config.steps, desc="generating", unit="step") as bar:
        for step in steps:
            if step.final or (args.every and step.step % args.every == 0):
                suffix = "final" if step.final else f"step{step.step:04d}"
                for name, image in zip(names, step.images):
                    image.save(out / f"{name}_{suffix}.png")
            if not step.final:
                bar.update(1)
                bar.set_postfix(similarity=f"{np.mean(step.similarity):+.3f}")
    summary = {
        name: {"similarity": s, "image": str(out / f"{name}_final.png")} for name, s in zip(names, step.similarity)
    }
    (out / "summary.json").write_text(json.dumps({"seed": seed, "steps": config.steps, "results": summary}, indent=2))
    for name, item in summary.items():
        print(f"{name}: similarity {item['similarity']:+.4f} -> {item['image']}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Zero-shot classification of sounds by class-name prompts through the text tower."""
    pipe = _load(args, need_vqgan=False)
    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.classes_file:
        names = [line.strip() for line in Path(args.classes_file).read_text().splitlines() if line.strip()]
    embedded = pipe.embed_audio(args.audio)
    _print_notes(embedded.notes)
    result = pipe.zero_shot(embedded, names, args.template or ["{}"])
    rows = [{"audio": a, "top": result.top(n, args.top)} for n, a in enumerate(args.audio)]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(row["audio"] + ": " + ", ".join(f"{name} {score:+.3f}" for name, score in row["top"]))
    return 0


def cmd_convert_brivl(args: argparse.Namespace) -> int:
    """Convert the official BriVL-1.0 .pth into the project's image (and text) tower folders."""
    from wavbrivl.checkpoints import load_brivl_official, load_brivl_official_text, save_component

    folder = save_component(load_brivl_official(args.pth), args.out)
    print(f"wrote {folder}")
    if args.text_out:
        tower = load_brivl_official_text(args.pth, args.tokenizer)
        print(f"wrote {save_component(tower, args.text_out)}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Videos into WebDataset shards of (clip audio, one frame, meta)."""
    from tqdm import tqdm

    from wavbrivl.training.prepare import REPORT_NAME, find_videos, prepare

    total = len(find_videos(args.videos, args.csv, args.split))
    with tqdm(total=total, desc="preparing", unit="video") as bar:
        report = prepare(
            args.videos,
            args.out,
            args.csv,
            args.split,
            args.seconds,
            args.frame,
            args.max_side,
            args.per_shard,
            args.seed,
            progress=bar.update,
        )
    print(
        f"{report.samples} clips written in {len(report.shards_written)} new shards "
        f"({len(report.shards_skipped)} finished shards skipped); {len(report.skipped_files)} videos skipped, "
        f"see {Path(args.out) / REPORT_NAME}"
    )
    return 0


def cmd_embed_frames(args: argparse.Namespace) -> int:
    """Embed every frame once with the frozen image tower and store it beside the sample."""
    from tqdm import tqdm

    from wavbrivl.factory import load_image_tower
    from wavbrivl.pipeline import default_device
    from wavbrivl.training.embed_frames import embed_frames

    device = args.device or default_device()
    if args.tower in ("brivl", "clip"):
        spec = load_preset(args.tower).spec("image", args.image_weights)
        tower, _ = load_image_tower(str(spec), args.tower)
    else:
        from wavbrivl.pipeline import WavBriVLPipeline

        tower = WavBriVLPipeline.from_pretrained(args.tower, device="cpu").image_tower
    tower = tower.to(device)
    with tqdm(desc="embedding frames", unit="frame") as bar:
        written = embed_frames(args.shards, tower, args.out, args.batch_size, args.tower, progress=bar.update)
    print(f"{len(written)} shards with frame embeddings")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the audio tower on embedded shards (resumes from OUT when a trainer state is there)."""
    from wavbrivl.training.trainer import TrainConfig, train

    config = TrainConfig(
        shards=args.shards,
        out=args.out,
        base=args.base,
        val_shards=args.val_shards,
        steps=args.steps,
        batch_size=args.batch_size,
        accumulate=args.accumulate,
        lr=args.lr,
        warmup=args.warmup,
        queue_size=args.queue_size,
        temperature=args.temperature,
        clip_seconds=args.clip_seconds,
        trainable_layers=args.trainable_layers,
        checkpoint_every=args.checkpoint_every,
        val_every=args.val_every,
        log_every=args.log_every,
        seed=args.seed,
        precision=args.precision,
        cosine_weight=args.cosine_weight,
        data_description=args.data_description,
    )
    state = Path(args.out) / "trainer-state.pt"
    if state.is_file() and not args.resume:
        raise WavBriVLError(f"{state} exists: pass --resume to continue that run, or choose another --out")
    last = train(config)
    print(json.dumps(last))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    """Publish a model set on the Hugging Face Hub: save it with a generated model card and upload it."""
    from wavbrivl.hub import check_repo_id
    from wavbrivl.publish import prepare_push_folder

    check_repo_id(args.repo)
    if args.model:
        if args.pretrained and args.pretrained != args.model:
            raise InputError("give the model folder once: as MODEL or as --pretrained")
        args.pretrained = args.model
    if args.dry_run and not args.folder:
        raise InputError("--dry-run needs --folder: where to keep the prepared upload folder")
    pipe = _load(args)
    card = {"license": args.license, "data_description": args.data_description}
    if args.dry_run:
        folder = prepare_push_folder(pipe, args.folder, args.repo, **card)
        print(f"prepared {folder} for {args.repo}; nothing uploaded (--dry-run)")
        return 0
    url = pipe.push_to_hub(args.repo, private=args.private, commit_message=args.message, folder=args.folder, **card)
    print(f"uploaded to https://huggingface.co/{args.repo}: {url}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run one benchmark task on its official layout and merge the result into the report."""
    from tqdm import tqdm

    from wavbrivl.evaluation import EvalConfig, run_task, update_report
    from wavbrivl.evaluation.probe import ProbeConfig
    from wavbrivl.evaluation.tasks import ZERO_SHOT_TEMPLATES

    pipe = _load(args, need_vqgan=False)
    config = EvalConfig(
        task=args.task,
        root=args.root,
        cache=args.cache or str(Path(args.out) / "cache"),
        csv=args.csv,
        split=args.split,
        seconds=args.seconds,
        zero_shot=not args.no_zero_shot,
        templates=tuple(args.template) if args.template else ZERO_SHOT_TEMPLATES,
        class_names=args.class_names,
        probe=ProbeConfig(seed=args.seed),
        limit=args.limit,
    )
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="clip", file=sys.stderr))
        bar.n = done
        bar.refresh()

    try:
        result = run_task(pipe, config, progress)
    finally:
        for bar in bars.values():
            bar.close()
    json_path, md_path = update_report(args.out, result, {"preset": pipe.preset, **_model_sources(pipe)})
    print(json.dumps(result["metrics"], indent=2))
    print(f"report: {md_path} and {json_path}", file=sys.stderr)
    if result["unreadable_count"]:
        print(f"note: {result['unreadable_count']} clip(s) could not be read; listed in {json_path}", file=sys.stderr)
    return 0


def _model_sources(pipe) -> dict[str, str]:
    return {name: info["source"] for name, info in pipe.info()["components"].items()}


def cmd_toyworld_build(args: argparse.Namespace) -> int:
    """Train the offline default model set on the synthetic world and write it to OUT."""
    from wavbrivl.toyworld.build import ToyBuildConfig, build_toyworld

    config = ToyBuildConfig.quick(args.out, args.seed) if args.quick else ToyBuildConfig(args.out, args.seed)
    if args.no_evaluate:
        config.evaluate = False
    result = build_toyworld(config, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps({"timings_s": result["timings_s"], "metrics": result.get("metrics", {})}, indent=2))
    return 0


def cmd_toyworld_add_text(args: argparse.Namespace) -> int:
    """Train and add a text tower to a built toy-world set."""
    from wavbrivl.toyworld.build import add_text_tower

    result = add_text_tower(args.dir, args.steps, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(result.get("metrics", {}), indent=2))
    return 0


def cmd_toyworld_evaluate(args: argparse.Namespace) -> int:
    """Re-measure a built toy set with its current generation defaults."""
    from wavbrivl.toyworld.build import reevaluate_toyworld

    result = reevaluate_toyworld(args.dir, log=lambda msg: print(msg, file=sys.stderr))
    print(json.dumps(result["metrics"], indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wavbrivl", description="Sound to image with a frozen vision-language space")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="show the loaded weights, their sources and sizes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("embed", help="embed a sound (and images)")
    p.add_argument("--audio", required=True)
    p.add_argument("--volume", default="0", help="gain: dB ('-6', '+6dB') or a factor ('0.5x')")
    p.add_argument("--images", nargs="*", default=None)
    p.add_argument("--out", default=None, help=".npz file to write (default: print JSON)")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("rank", help="rank images by a sound (or by a text)")
    query = p.add_mutually_exclusive_group(required=True)
    query.add_argument("--audio")
    query.add_argument("--text", help="rank by a text through the text tower instead of a sound")
    p.add_argument("--images", nargs="+", required=True, help="image files and/or folders")
    p.add_argument("--volume", default="0", help="gain: dB ('-6', '+6dB') or a factor ('0.5x')")
    p.add_argument("--top", type=int, default=0, help="print only the best K")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rank)

    p = sub.add_parser("generate", help="generate images from a sound (and weighted text prompts) with VQGAN")
    p.add_argument("--audio", default=None)
    p.add_argument(
        "--prompt",
        action="append",
        default=None,
        help="text prompt 'words' or 'words:weight' (negative: avoid); repeat or join with '|'",
    )
    p.add_argument("--audio-weight", type=float, default=1.0, help="weight of the sound among the prompts")
    vol = p.add_mutually_exclusive_group()
    vol.add_argument("--volume", default="0", help="gain: dB ('-6', '+6dB') or a factor ('0.5x')")
    vol.add_argument("--volumes", nargs="+", default=None, help="several gains, generated together in one batch")
    p.add_argument("--steps", type=int, default=None, help="default: the model set's")
    p.add_argument("--size", type=int, default=None, help="pixels; default: the model set's")
    p.add_argument("--seed", type=int, default=0, help="-1: a random seed (the seed used is printed)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--cutn", type=int, default=None)
    p.add_argument("--init-image", default=None)
    p.add_argument("--every", type=int, default=10, help="also write every k-th step (0: final only)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("classify", help="zero-shot: which class names a sound matches (text tower)")
    p.add_argument("--audio", nargs="+", required=True)
    p.add_argument("--classes", default="", help="comma-separated class names")
    p.add_argument("--classes-file", default=None, help="one class name per line (instead of --classes)")
    p.add_argument("--template", action="append", default=None, help="prompt template with {} (repeatable)")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("convert-brivl", help="official BriVL-1.0 .pth -> image (and text) tower folders")
    p.add_argument("pth")
    p.add_argument("--out", required=True)
    p.add_argument("--text-out", default=None, help="also write the text tower here")
    p.add_argument("--tokenizer", default=BRIVL_TOKENIZER, help="folder or Hub id kept with it")
    p.set_defaults(func=cmd_convert_brivl)

    p = sub.add_parser("prepare", help="videos -> WebDataset shards of clip audio + one frame")
    p.add_argument("--videos", required=True, help="folder of videos (searched recursively)")
    p.add_argument("--csv", default=None, help="VGGSound csv (ytid,start,label,split)")
    p.add_argument("--split", default=None, help="keep only this csv split (e.g. train, test)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--frame", choices=["middle", "random"], default="middle")
    p.add_argument("--max-side", type=int, default=480)
    p.add_argument("--per-shard", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("embed-frames", help="store the frozen image tower's frame embeddings in the shards")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--tower", default="brivl", help="brivl, clip, or a pipeline folder whose image tower to use")
    p.add_argument("--image-weights", default=None)
    p.add_argument("--out", default=None, help="write shards here (default: in place)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default=None)
    p.set_defaults(func=cmd_embed_frames)

    p = sub.add_parser("train", help="train the audio tower on embedded shards")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--val-shards", nargs="+", default=None)
    p.add_argument("--base", required=True, help="pipeline folder: image tower + VQGAN + starting audio tower")
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64, help="global batch, across processes")
    p.add_argument("--accumulate", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--queue-size", type=int, default=9600)
    p.add_argument("--temperature", type=float, default=0.07)
    p.add_argument("--cosine-weight", type=float, default=0.0, help="extra 1-cos(audio, frame) term")
    p.add_argument("--clip-seconds", type=float, default=10.0)
    p.add_argument("--trainable-layers", type=int, default=None, help="0 frozen WavLM, N top layers, -1 all")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto")
    p.add_argument(
        "--data-description", default=None, help="what the shards hold, in words (recorded for the model card)"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "push",
        help="publish a model set on the Hugging Face Hub with a generated model card (HF_TOKEN or hf auth login)",
    )
    p.add_argument("model", nargs="?", default=None, help="a folder written by save_pretrained or `wavbrivl train`")
    p.add_argument("--repo", required=True, help="the Hub model repo, owner/name (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--message", default="Upload WavBriVL model set", help="the commit message")
    p.add_argument("--license", default=None, help="the weights' licence for the card (e.g. mit); else 'not recorded'")
    p.add_argument("--data-description", default=None, help="the training data, in words, if the set lacks it")
    p.add_argument("--folder", default=None, help="prepare the upload folder here and keep it (must be new or empty)")
    p.add_argument("--dry-run", action="store_true", help="prepare --folder only; upload nothing")
    add_model_args(p)
    p.set_defaults(func=cmd_push)

    from wavbrivl.evaluation.tasks import TASKS

    p = sub.add_parser(
        "evaluate",
        help="the paper's benchmarks: MLP probe / zero-shot / retrieval / SED on a dataset's official layout",
    )
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--root", required=True, help="the dataset folder, as its official archive unpacks")
    p.add_argument("--out", default="eval-report", help="report.md / report.json go here (merged across tasks)")
    p.add_argument("--cache", default=None, help="embedding cache folder (default OUT/cache); reruns resume from it")
    p.add_argument("--csv", default=None, help="VGGSound: vggsound.csv if not in ROOT")
    p.add_argument("--split", default=None, help="DESED split (validation) or Clotho split (evaluation)")
    p.add_argument("--seconds", type=float, default=None, help="audio per clip (default: the dataset's clip length)")
    p.add_argument("--no-zero-shot", action="store_true", help="skip the text-tower zero-shot figures")
    p.add_argument("--template", action="append", default=None, help="zero-shot prompt with {} (repeatable)")
    p.add_argument(
        "--class-names", default=None, help="zero-shot wording per class: JSON {label: words} or one line per class"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N clips (a smoke run)")
    p.add_argument("--seed", type=int, default=0, help="seed of the MLP probe")
    add_model_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("toyworld", help="the synthetic audio-visual world")
    toy = p.add_subparsers(dest="toy_command", required=True)
    p = toy.add_parser("build", help="train the offline default model set with the project's own code")
    p.add_argument("--out", default="wavbrivl/assets/toyworld")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a shortened build (CI): checks that learning happens")
    p.add_argument("--no-evaluate", action="store_true")
    p.set_defaults(func=cmd_toyworld_build)
    p = toy.add_parser("evaluate", help="measure a built set again and rewrite its model card")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.set_defaults(func=cmd_toyworld_evaluate)
    p = toy.add_parser("add-text", help="train a text tower against a built set's image tower and add it")
    p.add_argument("--dir", default="wavbrivl/assets/toyworld")
    p.add_argument("--steps", type=int, default=300)
    p.set_defaults(func=cmd_toyworld_add_text)

    for name in ("info", "embed", "rank", "generate", "classify"):
        add_model_args(sub.choices[name])
    return parser


def _protect_negative_volumes(argv: list[str]) -> list[str]:
    """Keep values like '-6dB' or '-.5x' from being read as options (argparse only knows plain numbers)."""
    return [" " + a if a.startswith("-") and a[1:2] != "-" and VOLUME_SYNTAX.fullmatch(a) else a for a in argv]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand, turning user errors into one clear line and exit code 2."""
    args = build_parser().parse_args(_protect_negative_volumes(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except WavBriVLError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
