"""`wavbrivl convert-brivl|prepare|embed-frames|train|train-decoder|push`: making and publishing model sets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wavbrivl.cli.common import add_model_args, load
from wavbrivl.configs import BRIVL_TOKENIZER
from wavbrivl.errors import InputError, WavBriVLError
from wavbrivl.loading import argument_choice, load_preset
from wavbrivl.loading.components import FLAGS


def cmd_convert_brivl(args: argparse.Namespace) -> int:
    """Convert the official BriVL-1.0 .pth into the project's image (and text) tower folders."""
    from wavbrivl.loading.folders import save_component
    from wavbrivl.loading.official import load_brivl_official, load_brivl_official_text

    folder = save_component(load_brivl_official(args.pth), args.out)
    print(f"wrote {folder}")
    if args.text_out:
        tower = load_brivl_official_text(args.pth, args.tokenizer)
        print(f"wrote {save_component(tower, args.text_out)}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Videos into WebDataset shards of (clip audio, one frame, meta); under torchrun each rank writes its share."""
    from tqdm import tqdm

    from wavbrivl.distributed import init_distributed
    from wavbrivl.training.prepare import REPORT_NAME, ClipSettings, find_videos, prepare

    rank, world = init_distributed()
    total = len(find_videos(args.videos, args.csv, args.split))
    settings = ClipSettings(args.seconds, args.frame, args.max_side, args.seed)
    with tqdm(total=total, desc="preparing", unit="video", disable=rank != 0) as bar:
        report = prepare(
            args.videos, args.out, args.csv, args.split, settings, args.per_shard, args.workers,
            progress=lambda done: bar.update(done - bar.n),
        )  # fmt: skip
    if rank == 0:
        print(
            f"{report.samples} clips in {len(report.shards_written)} new shards "
            f"({len(report.shards_skipped)} finished shards skipped, {world} process(es)); "
            f"{len(report.skipped_files)} videos skipped, see {Path(args.out) / REPORT_NAME}"
        )
    return 0


def cmd_embed_frames(args: argparse.Namespace) -> int:
    """Embed every frame once with the frozen image tower and store it beside the sample (each rank its share)."""
    import torch
    from tqdm import tqdm

    from wavbrivl.data.shards import list_shards
    from wavbrivl.distributed import init_distributed, local_device
    from wavbrivl.loading.towers import load_image_tower
    from wavbrivl.training.embed_frames import embed_frames

    rank, world = init_distributed()
    device = args.device or local_device()
    if args.tower in ("brivl", "clip"):
        chosen = argument_choice(args.tower, image=args.image_weights).image  # the flag, else $WAVBRIVL_IMAGE
        spec = load_preset(args.tower).spec("image", chosen)
        tower, _ = load_image_tower(str(spec), args.tower)
    else:
        from wavbrivl.pipeline import WavBriVLPipeline

        tower = WavBriVLPipeline.from_pretrained(args.tower, device="cpu", load_generators=False).image_tower
    tower = tower.to(device)
    workers = args.workers if args.workers is not None else (2 if torch.device(device).type == "cuda" else 0)
    total = len(list_shards(args.shards))
    with tqdm(total=total, desc="embedding frames", unit="shard", disable=rank != 0) as bar:
        written = embed_frames(args.shards, tower, args.out, args.batch_size, args.tower,
                               progress=lambda done: bar.update(done - bar.n), workers=workers)  # fmt: skip
    if rank == 0:
        print(f"{len(written)} shards with frame embeddings ({world} process(es))")
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


def cmd_train_decoder(args: argparse.Namespace) -> int:
    """Train a model set's decoder generator on shards (resumes from OUT when a decoder state is there)."""
    from wavbrivl.training.decoder import DecoderTrainConfig
    from wavbrivl.training.decoder_run import STATE_NAME, DecoderRunConfig, train_decoder_run
    from wavbrivl.training.distill import DistillConfig

    state = Path(args.out) / STATE_NAME
    if state.is_file() and not args.resume:
        raise WavBriVLError(f"{state} exists: pass --resume to continue that run, or choose another --out")
    train = DecoderTrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup,
        seed=args.seed,
        log_every=args.log_every,
        precision=args.precision,
    )
    config = DecoderRunConfig(
        shards=args.shards,
        pretrained=args.pretrained,
        out=args.out,
        train=train,
        audio_conditions=not args.pictures_only,
        checkpoint_every=args.checkpoint_every,
        add_to_set=args.add_to_set,
        device=args.device,
        distill=DistillConfig(
            student_steps=args.student_steps,
            guidance=args.guidance,
            pairs=args.distill_pairs,
            steps=args.distill_steps,
            seed=args.seed,
        )
        if args.distill_steps
        else None,  # fmt: skip
    )
    print(json.dumps(train_decoder_run(config)))
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    """Publish a model set on the Hugging Face Hub: save it with a generated model card and upload it."""
    from wavbrivl.loading.hub import check_repo_id
    from wavbrivl.publish import prepare_push_folder

    check_repo_id(args.repo)
    if args.model:
        if args.pretrained and args.pretrained != args.model:
            raise InputError("give the model folder once: as MODEL or as --pretrained")
        args.pretrained = args.model
    if args.dry_run and not args.folder:
        raise InputError("--dry-run needs --folder: where to keep the prepared upload folder")
    pipe = load(args)
    card = {"license": args.license, "data_description": args.data_description}
    if args.dry_run:
        folder = prepare_push_folder(pipe, args.folder, args.repo, **card)
        print(f"prepared {folder} for {args.repo}; nothing uploaded (--dry-run)")
        return 0
    url = pipe.push_to_hub(args.repo, private=args.private, commit_message=args.message, folder=args.folder, **card)
    print(f"uploaded to https://huggingface.co/{args.repo}: {url}")
    return 0


def add_convert_brivl_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl convert-brivl`."""
    p = sub.add_parser("convert-brivl", help="official BriVL-1.0 .pth -> image (and text) tower folders")
    p.add_argument("pth")
    p.add_argument("--out", required=True)
    p.add_argument("--text-out", default=None, help="also write the text tower here")
    p.add_argument(FLAGS["tokenizer"], default=BRIVL_TOKENIZER, help="folder or Hub id kept with it")
    p.set_defaults(func=cmd_convert_brivl)


def add_prepare_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl prepare`."""
    p = sub.add_parser("prepare", help="videos -> WebDataset shards of clip audio + one frame")
    p.add_argument("--videos", required=True, help="folder of videos (searched recursively)")
    p.add_argument("--csv", default=None, help="VGGSound csv (ytid,start,label,split)")
    p.add_argument("--split", default=None, help="keep only this csv split (e.g. train, test)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--frame", choices=["middle", "random"], default="middle")
    p.add_argument("--max-side", type=int, default=480)
    p.add_argument("--per-shard", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="processes decoding videos (per rank under torchrun)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prepare)


def add_embed_frames_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl embed-frames`."""
    p = sub.add_parser("embed-frames", help="store the frozen image tower's frame embeddings in the shards")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--tower", default="brivl", help="brivl, clip, or a pipeline folder whose image tower to use")
    p.add_argument(
        FLAGS["image"], default=None, help="BriVL .pth or CLIP folder / Hub id (else $WAVBRIVL_IMAGE, the preset's)"
    )
    p.add_argument("--out", default=None, help="write shards here (default: in place)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--workers", type=int, default=None, help="DataLoader workers decoding frames, per rank (default: 2 on a GPU, "
        "else 0: on the CPU the tower is the bottleneck and workers only add copying)"
    )  # fmt: skip
    p.add_argument("--device", default=None, help="default: this rank's GPU, else the CPU")
    p.set_defaults(func=cmd_embed_frames)


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl train`."""
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


def add_train_decoder_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl train-decoder`."""
    p = sub.add_parser("train-decoder", help="train a model set's decoder generator (one-pass pictures) on shards")
    p.add_argument("--shards", nargs="+", required=True)
    p.add_argument("--pretrained", required=True, help="the model set folder (its VQGAN, image and audio towers)")
    p.add_argument("--out", required=True, help="run folder: state, log, data cache, the decoder component")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--add-to-set", action="store_true", help="also save the decoder into --pretrained as its default")
    p.add_argument("--pictures-only", action="store_true", help="condition on frame embeddings only, not on clips'")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["auto", "fp32"], default="auto", help="auto: bf16 autocast on GPUs")
    p.add_argument("--device", default=None)
    p.add_argument("--distill-steps", type=int, default=0,
                   help="then distil a 1-2-step student for this many steps (0: none)")  # fmt: skip
    p.add_argument("--student-steps", type=int, choices=[1, 2], default=2, help="the student samples in this many")
    p.add_argument("--distill-pairs", type=int, default=8192, help="pictures the full sampler draws to learn from")
    p.add_argument("--guidance", type=float, default=4.0, help="the full sampler's guidance, built into the student")
    p.set_defaults(func=cmd_train_decoder)


def add_push_parser(sub: argparse._SubParsersAction) -> None:
    """`wavbrivl push`."""
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
