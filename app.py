"""WavBriVL Gradio app: a thin view over WavBriVLPipeline (rank, generate step by step, compare volumes)."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from wavbrivl import GenerationConfig, WavBriVLError, WavBriVLPipeline, parse_volume  # noqa: E402
from wavbrivl.factory import OFFLINE_PRESET, PRESETS  # noqa: E402
from wavbrivl.volume import db_to_gain  # noqa: E402

LIMITS = {"images": 200, "steps": 300, "size": 512, "cutn": 32, "volumes": 6}


def _banner(pipe: WavBriVLPipeline) -> str:
    info = pipe.info()
    lines = [f"**Preset** `{info['preset']}` on `{info['device']}` — {info['description']}"]
    for name, part in info["components"].items():
        state = "trained" if part["trained"] else "**UNTRAINED**"
        lines.append(f"- {name}: {part['class']}, {part['parameters']:,} parameters, {state}, from `{part['source']}`")
    if pipe.untrained:
        lines.insert(0, "⚠️ **Untrained weights in use: rankings and images below demonstrate the plumbing only.**")
    return "\n".join(lines)


def build_app(pipe: WavBriVLPipeline) -> gr.Blocks:
    """The Blocks UI; every handler calls the pipeline and turns user errors into gr.Error."""
    def _fail(err: Exception) -> gr.Error:
        return gr.Error(str(err) if isinstance(err, WavBriVLError) else f"unexpected problem: {err}")

    def rank(audio, files, volume_db):
        if audio is None:
            raise gr.Error("Record or upload a sound first.")
        if not files:
            raise gr.Error("Upload at least one image to rank.")
        if len(files) > LIMITS["images"]:
            raise gr.Error(f"At most {LIMITS['images']} images per request; got {len(files)}.")
        try:
            paths = [f if isinstance(f, str) else getattr(f, "name", f) for f in files]
            embeds = pipe.embed_images(paths)
            result = pipe.rank(audio, embeds, float(volume_db))
        except Exception as err:  # noqa: BLE001 - shown to the user, server keeps running
            raise _fail(err) from None
        ranked = result.ranked(0)
        return [(paths[i], f"#{r + 1}  {s:+.3f}") for r, (i, s) in enumerate(ranked)]

    def generate(audio, volume_db, steps, seed, size, lr, cutn, init):
        if audio is None:
            raise gr.Error("Record or upload a sound first.")
        config = GenerationConfig(steps=int(steps), size=int(size), lr=float(lr), cutn=int(cutn), seed=int(seed))
        strip: list = []
        curve: list[str] = []
        try:
            for step in pipe.generate(audio, float(volume_db), config, init_image=init):
                image = step.images[0]
                curve.append(f"{step.step}: {step.similarity[0]:+.4f}")
                if step.final or step.step % max(1, int(steps) // 10) == 0:
                    strip.append((image, "final" if step.final else f"step {step.step}"))
                yield image, strip, f"step {step.step}/{step.total}  similarity {step.similarity[0]:+.4f}"
        except Exception as err:  # noqa: BLE001
            raise _fail(err) from None

    def volume_study(audio, volumes_text, steps, seed, size, cutn):
        if audio is None:
            raise gr.Error("Record or upload a sound first.")
        try:
            volumes = [parse_volume(v) for v in str(volumes_text).replace(",", " ").split()]
        except WavBriVLError as err:
            raise gr.Error(str(err)) from None
        if not 1 <= len(volumes) <= LIMITS["volumes"]:
            raise gr.Error(f"Give 1 to {LIMITS['volumes']} volumes, e.g. '-12 -6 0 6 12'.")
        config = GenerationConfig(steps=int(steps), size=int(size), cutn=int(cutn), seed=int(seed))
        try:
            embedded = pipe.embed_audio(audio, volumes)
            cos = (embedded.embeddings @ embedded.embeddings.T).numpy()
            table = "| dB | " + " | ".join(f"{v:+g}" for v in volumes) + " |\n|---|" + "---|" * len(volumes) + "\n"
            table += "\n".join(
                f"| {v:+g} | " + " | ".join(f"{c:.3f}" for c in row) + " |" for v, row in zip(volumes, cos)
            )
            for step in pipe.generate(embedded, config=config):
                labels = [f"{v:+g} dB (×{db_to_gain(v):.2f}) sim {s:+.3f}" for v, s in zip(volumes, step.similarity)]
                yield list(zip(step.images, labels)), f"step {step.step}/{step.total}", table
        except Exception as err:  # noqa: BLE001
            raise _fail(err) from None

    with gr.Blocks(title="WavBriVL") as demo:
        gr.Markdown("# WavBriVL — sound to image\n" + _banner(pipe))
        audio = gr.Audio(sources=["microphone", "upload"], type="numpy", label="Sound")
        volume = gr.Slider(-24, 24, value=0, step=1, label="Volume (dB)")
        with gr.Tab("Rank"):
            files = gr.File(file_count="multiple", file_types=["image"], label="Images")
            rank_btn = gr.Button("Rank images by the sound")
            ranked = gr.Gallery(label="Best match first", columns=5)
            rank_btn.click(rank, [audio, files, volume], ranked, api_name="rank")
        with gr.Tab("Generate"):
            with gr.Row():
                steps = gr.Slider(1, LIMITS["steps"], value=30, step=1, label="Steps")
                seed = gr.Number(0, precision=0, label="Seed")
                size = gr.Slider(
                    32, LIMITS["size"], value=128 if pipe.device.type == "cpu" else 256, step=16, label="Size (px)"
                )
                lr = gr.Number(0.1, label="Learning rate")
                cutn = gr.Slider(
                    1, LIMITS["cutn"], value=8 if pipe.device.type == "cpu" else 32, step=1, label="Cutouts"
                )
            init = gr.Image(type="pil", label="Init image (optional)")
            with gr.Row():
                go = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            current = gr.Image(label="Current step", format="png")
            strip = gr.Gallery(label="Every k-th step", columns=6)
            status = gr.Markdown()
            job = go.click(
                generate,
                [audio, volume, steps, seed, size, lr, cutn, init],
                [current, strip, status],
                api_name="generate",
                concurrency_limit=1,
            )
            stop.click(None, None, None, cancels=[job])
        with gr.Tab("Volume study"):
            volumes = gr.Textbox("-12 -6 0 6 12", label="Volumes (dB, or factors like 0.5x)")
            vsteps = gr.Slider(1, LIMITS["steps"], value=20, step=1, label="Steps")
            vgo = gr.Button("Generate side by side", variant="primary")
            side = gr.Gallery(label="One image per volume, same seed", columns=5)
            vstatus = gr.Markdown()
            cos_table = gr.Markdown()
            vgo.click(
                volume_study,
                [audio, volumes, vsteps, seed, size, cutn],
                [side, vstatus, cos_table],
                api_name="volume_study",
                concurrency_limit=1,
            )
    return demo


def main() -> None:
    """Parse flags, load the pipeline, launch the server."""
    parser = argparse.ArgumentParser(description="WavBriVL Gradio app")
    parser.add_argument("--preset", default=OFFLINE_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--pretrained", default=None)
    parser.add_argument("--audio-weights", default=None)
    parser.add_argument("--image-weights", default=None)
    parser.add_argument("--vqgan-weights", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    pipe = WavBriVLPipeline.load(
        args.preset,
        args.pretrained,
        audio=args.audio_weights,
        image=args.image_weights,
        vqgan=args.vqgan_weights,
        device=args.device,
    )
    build_app(pipe).queue(default_concurrency_limit=2).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
