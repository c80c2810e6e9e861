"""Films of a generation's steps (any method), of a volume study (its pictures side by side) or of a blend.

A film is an MP4 (PyAV: H.264 through libx264 when the wheel has it, else MPEG-4 part 2; yuv420p) or an animated
WebP (Pillow, lossless). Small pictures are scaled up by a whole factor with nearest neighbour, so the pixels stay
sharp, to at least MIN_HEIGHT pixels high; frames have an even width and height, as yuv420p needs.

One frame per streamed step, the final picture included (decoder: sample_steps + 1 frames, vqgan: steps + 1).
An animated WebP stores a frame that repeats the one before as that frame held longer (libwebp merges them);
`read_film` gives such a frame back once per step, so both formats read back as the frames written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wavbrivl.errors import InputError
from wavbrivl.generation.config import GenerationStep

FILM_SUFFIXES = (".mp4", ".webp")
MIN_HEIGHT = 256  # pictures are scaled up (whole factors, nearest neighbour) to at least this height
FILM_FPS = 8.0
GAP = 8  # pixels between pictures side by side
LABEL_HEIGHT = 20  # the caption band under each picture, when there are captions
FRAME_BACKGROUND = (16, 16, 18)
LABEL_COLOUR = (230, 230, 230)


@dataclass(frozen=True)
class FilmInfo:
    """A written film: where, how many frames, their size, the codec and the frame rate."""

    path: Path
    frames: int
    width: int
    height: int
    codec: str
    fps: float


def video_codec() -> str:
    """The MP4 video codec used: 'libx264' (H.264) when this PyAV has it, else 'mpeg4'."""
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def upscale(picture: Image.Image, min_height: int = MIN_HEIGHT) -> Image.Image:
    """The picture scaled up by the smallest whole factor that makes it at least min_height high (nearest)."""
    factor = max(1, math.ceil(min_height / picture.height))
    if factor == 1:
        return picture.convert("RGB")
    return picture.convert("RGB").resize((picture.width * factor, picture.height * factor), Image.Resampling.NEAREST)


def compose_frame(
    pictures: Sequence[Image.Image], labels: Sequence[str] | None = None, min_height: int = MIN_HEIGHT
) -> Image.Image:
    """The pictures side by side (scaled up, GAP apart), each with its caption under it, padded to even sides."""
    if not pictures:
        raise InputError("a film frame needs at least one picture")
    if labels is not None and len(labels) != len(pictures):
        raise InputError(f"{len(pictures)} pictures but {len(labels)} captions")
    tiles = [upscale(p, min_height) for p in pictures]
    band = LABEL_HEIGHT if labels else 0
    width = sum(t.width for t in tiles) + GAP * (len(tiles) - 1)
    height = max(t.height for t in tiles) + band
    frame = Image.new("RGB", (width + width % 2, height + height % 2), FRAME_BACKGROUND)
    draw, font, left = ImageDraw.Draw(frame), ImageFont.load_default(), 0
    for index, tile in enumerate(tiles):
        frame.paste(tile, (left, 0))
        if labels:
            draw.text((left + 4, tile.height + 4), labels[index], fill=LABEL_COLOUR, font=font)
        left += tile.width + GAP
    return frame


def step_frame(step: GenerationStep, labels: Sequence[str] | None = None, min_height: int = MIN_HEIGHT) -> Image.Image:
    """One streamed step as a film frame: its pictures (one per volume or sound) side by side."""
    return compose_frame(step.images, labels, min_height)


def film_format(path: str | Path) -> str:
    """'mp4' or 'webp' from the file name, or an InputError naming the accepted suffixes."""
    suffix = Path(path).suffix.lower()
    if suffix not in FILM_SUFFIXES:
        raise InputError(f"a film is written as {' or '.join(FILM_SUFFIXES)}; got {Path(path).name!r}")
    return suffix[1:]


class FilmWriter:
    """Writes frames to an MP4 as they come (PyAV), or gathers them for an animated WebP (Pillow) on close."""

    def __init__(self, path: str | Path, fps: float = FILM_FPS) -> None:
        self.path, self.fps = Path(path), float(fps)
        self.format = film_format(self.path)
        if not 0 < self.fps <= 120:
            raise InputError(f"the film's frame rate must be above 0 and at most 120; got {fps}")
        self.codec = video_codec() if self.format == "mp4" else "webp"
        self.frames: list[Image.Image] = []  # WebP only: written together on close
        self.count, self.size = 0, (0, 0)
        self._container = self._stream = None

    def add(self, frame: Image.Image) -> None:
        """Append one frame; every frame must have the first one's size."""
        frame = frame.convert("RGB")
        if self.count == 0:
            self.size = frame.size
            if frame.width % 2 or frame.height % 2:
                raise InputError(f"film frames need an even width and height; got {frame.width}x{frame.height}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.format == "mp4":
                self._open_mp4()
        elif frame.size != self.size:
            raise InputError(f"film frame {self.count} is {frame.size}, the first was {self.size}")
        if self.format == "mp4":
            import av

            for packet in self._stream.encode(av.VideoFrame.from_image(frame)):
                self._container.mux(packet)
        else:
            self.frames.append(frame)
        self.count += 1

    def _open_mp4(self) -> None:
        """Open the MP4 container and its yuv420p video stream at the first frame's size."""
        import av

        self._container = av.open(str(self.path), mode="w")
        stream = self._container.add_stream(self.codec, rate=Fraction(self.fps).limit_denominator(1000))
        stream.width, stream.height = self.size
        stream.pix_fmt = "yuv420p"
        if self.codec == "libx264":
            stream.options = {"crf": "16", "preset": "medium"}
        else:
            stream.bit_rate = 8_000_000
        self._stream = stream

    def close(self) -> FilmInfo:
        """Finish the file and say what was written; a film without frames is an InputError."""
        if self.count == 0:
            raise InputError("the film has no frames")
        if self.format == "mp4" and self._container is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
        elif self.frames:
            duration = round(1000 / self.fps)
            self.frames[0].save(self.path, save_all=True, append_images=self.frames[1:], duration=duration,
                                loop=0, lossless=True)  # fmt: skip
            self.frames = []
        return FilmInfo(self.path, self.count, self.size[0], self.size[1], self.codec, self.fps)

    def __enter__(self) -> FilmWriter:
        """The writer itself; the film is finished when the block ends without an error."""
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        """Finish the film, or on an error close the file as it is."""
        if kind is None:
            self.close()
        elif self._container is not None:
            self._container.close()


def write_film(frames: Iterable[Image.Image], path: str | Path, fps: float = FILM_FPS) -> FilmInfo:
    """Write frames (all one size, even sides) as an MP4 or animated WebP, by the path's suffix."""
    writer = FilmWriter(path, fps)
    for frame in frames:
        writer.add(frame)
    return writer.close()


def film_of_steps(
    steps: Iterable[GenerationStep], path: str | Path, labels: Sequence[str] | None = None, fps: float = FILM_FPS
) -> FilmInfo:
    """A generation's streamed steps as a film: one frame per step, the step's pictures side by side."""
    return write_film((step_frame(step, labels) for step in steps), path, fps)


def film_of_pictures(
    pictures: Sequence[Image.Image], path: str | Path, labels: Sequence[str] | None = None, fps: float = 4.0
) -> FilmInfo:
    """A film with one picture per frame (a blend's pictures), each captioned if labels are given."""
    frames = [compose_frame([p], [labels[i]] if labels else None) for i, p in enumerate(pictures)]
    return write_film(frames, path, fps)


def read_film(path: str | Path, fps: float | None = None) -> list[np.ndarray]:
    """A film's frames as (H, W, 3) uint8 arrays: an MP4 through PyAV, a WebP through Pillow (held frames repeated).

    A WebP's frames are counted in units of 1/fps seconds (default: its shortest frame's duration)."""
    if film_format(path) == "mp4":
        import av

        with av.open(str(path)) as container:
            return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with Image.open(path) as image:
        held = []
        for index in range(image.n_frames):
            image.seek(index)
            held.append((np.asarray(image.convert("RGB")), int(image.info.get("duration") or 1)))
    unit = round(1000 / fps) if fps else min(duration for _, duration in held)
    return [frame for frame, duration in held for _ in range(max(1, round(duration / unit)))]
