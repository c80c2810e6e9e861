"""One long-lived thread for every call into the model when the app serves from the CPU.

Gradio runs each handler (and each step of a streaming one) on one of its worker threads. With torch's OpenMP
backend (libgomp), every thread that has run an operator keeps its own pool of OpenMP threads; once more of them
exist than cores, libgomp stops spinning between parallel regions and each small operator pays a futex wake-up.
Measured on a 2-core machine: one GroupNorm on an 8 x 8 map took 7 us on the only torch thread and 81 us once a
second thread had run torch; the decoder's 10 sampling steps took 0.72 s on a server thread against 0.35 s on the
main thread. So the app loads and runs its model set on this one thread, and nothing else in the process touches
torch: the model runs as fast as in a script. On a GPU the kernels are large and ZeroGPU runs decorated calls in
processes of its own, so the app does not use it there.

The one-pass decoder's streams run on one torch thread. Its network works on 8 x 8 latents, so each operator is
tens of microseconds and a second OpenMP thread mostly waits at barriers; whenever anything else wants a core (the
server sending a step, a browser on the same machine drawing it) a barrier stalls. Measured on 2 cores, click to
final picture with Chromium on the same machine: 0.54 s on one thread against 0.73 s on two (median of 8); through
the HTTP API with no browser 0.51 s against 0.50 s. The optimisation's operators are large (a 256 x 256 decode, the
tower on its cutouts), so it keeps every thread: 7.2 s on two against 7.6 s on one in the same browser test. So
does a decoder stream of several pictures (a volume study): five volumes took 0.75 s on two threads against
1.10 s on one, alone in a script.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

from wavbrivl.generation.registry import REGISTRY
from wavbrivl.generation.request import GenerationRequest

T = TypeVar("T")
_DONE = object()


class ModelThread:
    """Runs calls, and steps of generators, one at a time on a single thread of its own."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="wavbrivl-model")

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on the model thread; its result, or its exception raised here."""
        return self._pool.submit(fn, *args, **kwargs).result()

    def stream(
        self, make: Callable[..., Iterator[T]], *args: Any, torch_threads: int | None = None, **kwargs: Any
    ) -> Iterator[T]:
        """The items of make(*args, **kwargs), produced on the model thread as fast as it can and passed on here.

        torch_threads: torch's intra-op threads while this stream runs (then put back); None keeps them.
        Closing this iterator (Gradio's Stop, a closed page) stops the producer after the item it is making.
        """
        items: queue.Queue = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            before = torch.get_num_threads()
            try:
                if torch_threads is not None and torch_threads != before:
                    torch.set_num_threads(torch_threads)
                source = make(*args, **kwargs)
                try:
                    for item in source:
                        items.put((item, None))
                        if stop.is_set():
                            break
                finally:
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()
            except BaseException as err:  # noqa: BLE001 - handed to the consumer, raised there
                items.put((_DONE, err))
                return
            finally:
                if torch.get_num_threads() != before:  # setting it is not free (oneDNN drops its caches)
                    torch.set_num_threads(before)
            items.put((_DONE, None))

        self._pool.submit(produce)
        try:
            while True:
                item, err = items.get()
                if err is not None:
                    raise err
                if item is _DONE:
                    return
                yield item
        finally:
            stop.set()


MODEL_THREAD = ModelThread()

STREAMED = frozenset({"generate"})
ONE_THREAD_METHODS = frozenset(n for n, spec in REGISTRY.items() if spec.one_thread)  # the module's docstring
CALLED = frozenset(
    {"embed_audio", "embed_images", "embed_text", "rank", "rank_text", "zero_shot", "check_inputs", "prepare"}
)


class OnModelThread:
    """A pipeline whose model calls run on MODEL_THREAD (streams for `generate`); other attributes pass through."""

    def __init__(self, pipe: Any, thread: ModelThread = MODEL_THREAD) -> None:
        self._pipe, self._thread = pipe, thread

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._pipe, name)
        if name in STREAMED:
            return lambda *args, **kwargs: self._thread.stream(
                value, *args, torch_threads=_threads_for(value, args, kwargs), **kwargs
            )
        if name in CALLED:
            return lambda *args, **kwargs: self._thread.call(value, *args, **kwargs)
        return value

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(pipeline, *args, **kwargs) on the model thread, given the pipeline itself (a library function that
        calls several of its methods and does tensor work of its own, all on that one thread)."""
        return self._thread.call(fn, self._pipe, *args, **kwargs)


def model_call(pipe: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(pipe, *args, **kwargs): on the model thread with the pipeline itself when `pipe` is an OnModelThread (the
    CPU), else here (a GPU)."""
    if isinstance(pipe, OnModelThread):
        return pipe.run(fn, *args, **kwargs)
    return fn(pipe, *args, **kwargs)


@contextmanager
def sampling_threads(pipe: Any, method: str) -> Iterator[None]:
    """One torch thread while a one-thread method (the small-latent decoder) makes one picture on the CPU, as the
    streams do (the module's docstring); the threads as they were after."""
    before = torch.get_num_threads()
    one = pipe.device.type == "cpu" and method in ONE_THREAD_METHODS and before != 1
    if one:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if one:
            torch.set_num_threads(before)


def _threads_for(generate: Callable[..., Any], args: tuple, kwargs: dict) -> int | None:
    """torch threads for a generation stream: one for one picture by a small-latent sampler, else as they are.

    Read from the GenerationRequest the stream runs (the front ends prepare one); anything else keeps the threads.
    """
    request = args[0] if args else kwargs.get("audio")
    if not isinstance(request, GenerationRequest) or request.config.method not in ONE_THREAD_METHODS:
        return None
    return 1 if request.pictures == 1 else None
