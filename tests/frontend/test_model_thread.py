"""The app's model thread: every model call on one thread, streams passed on in order, errors and Stop honoured."""

from __future__ import annotations

import threading

import pytest
import torch

from wavbrivl.frontend.model_thread import ModelThread, OnModelThread, model_call, sampling_threads
from wavbrivl.generation import GenerationConfig
from wavbrivl.generation.request import GenerationRequest


def test_calls_and_streams_run_on_one_thread_in_order():
    thread = ModelThread()
    names = {thread.call(lambda: threading.current_thread().name) for _ in range(3)}

    def steps(n):
        for i in range(n):
            yield i, threading.current_thread().name

    streamed = list(thread.stream(steps, 4))
    assert [i for i, _ in streamed] == [0, 1, 2, 3]
    names |= {name for _, name in streamed}
    assert len(names) == 1 and names != {threading.current_thread().name}


def test_errors_reach_the_caller_after_the_items_made_before_them():
    thread = ModelThread()
    with pytest.raises(ZeroDivisionError):
        thread.call(lambda: 1 / 0)

    def failing():
        yield "first"
        raise ValueError("bad setting")

    seen = []
    with pytest.raises(ValueError, match="bad setting"):
        for item in thread.stream(failing):
            seen.append(item)
    assert seen == ["first"]
    assert thread.call(lambda: "still serving") == "still serving"


def test_closing_the_stream_stops_the_producer_and_closes_its_generator():
    thread, made, closed, release = ModelThread(), [], threading.Event(), threading.Event()

    def endless():
        try:
            while True:
                made.append(len(made))
                yield made[-1]
                release.wait(5)  # a step in progress when Stop comes
        finally:
            closed.set()

    stream = thread.stream(endless)
    assert next(stream) == 0
    stream.close()  # what Gradio does on Stop or a closed page
    release.set()
    assert closed.wait(5)
    assert len(made) <= 2  # the step under way finishes; no step after it is started
    assert thread.call(lambda: "next request") == "next request"


def test_the_pipeline_proxy_sends_model_calls_to_the_thread_and_passes_the_rest():
    class Pipe:
        device = "cpu"

        def embed_audio(self, clips):
            return threading.current_thread().name, clips

        def generate(self, n):
            yield from (threading.current_thread().name for _ in range(n))

        def generation_config(self):
            return threading.current_thread().name

    thread = ModelThread()
    model = thread.call(lambda: threading.current_thread().name)
    pipe = OnModelThread(Pipe(), thread)
    assert pipe.device == "cpu" and pipe.embed_audio([1]) == (model, [1])
    assert list(pipe.generate(3)) == [model] * 3
    assert pipe.generation_config() == threading.current_thread().name  # no model work: not sent over


def test_decoder_streams_of_one_picture_run_on_one_torch_thread_and_put_the_count_back():
    class Pipe:
        def generate(self, request):
            yield from (torch.get_num_threads() for _ in range(2))

    thread = ModelThread()
    thread.call(torch.set_num_threads, 2)
    pipe = OnModelThread(Pipe(), thread)

    def request(method: str, pictures: int, prompts: int = 0) -> GenerationRequest:
        """A prepared request of this many pictures (a sound at several volumes, or prompts alone: one)."""
        targets = torch.zeros(pictures, 1 + prompts, 8)
        return GenerationRequest(GenerationConfig(method=method), targets, torch.ones(1 + prompts))

    assert list(pipe.generate(request("decoder", 1))) == [1, 1]
    assert list(pipe.generate(request("decoder", 1, prompts=2))) == [1, 1]  # a sound and two prompts: one picture
    assert list(pipe.generate(request("decoder", 5))) == [2, 2]  # a study's batch: larger operators
    assert list(pipe.generate(request("vqgan", 1))) == [2, 2]
    assert list(pipe.generate(request("unclip", 1))) == [2, 2]
    assert list(pipe.generate("not a request")) == [2, 2]  # anything else: the threads as they are
    assert thread.call(torch.get_num_threads) == 2  # put back after the decoder's stream
    one = request("decoder", 1)

    stream = pipe.generate(one)
    assert next(stream) == 1
    stream.close()  # Stop in the middle
    assert thread.call(torch.get_num_threads) == 2  # put back (the call waits for the producer to finish)

    def failing():
        yield torch.get_num_threads()
        raise ValueError("bad step")

    with pytest.raises(ValueError, match="bad step"):
        list(thread.stream(failing, torch_threads=1))
    assert thread.call(torch.get_num_threads) == 2  # put back after an error too


def test_a_library_function_runs_on_the_thread_with_the_pipeline_itself():
    class Pipe:
        device = torch.device("cpu")

        def embed_text(self, texts):
            return threading.current_thread().name

    thread, plain = ModelThread(), Pipe()
    model = thread.call(lambda: threading.current_thread().name)
    pipe = OnModelThread(plain, thread)
    assert pipe.embed_text(["a red circle"]) == model  # the text tower's calls go over too (the Blend tab's ends)

    def uses(given, extra, keyword=None):  # as blend_picture: the pipeline first, its methods called inside
        return given, given.embed_text([extra]), keyword, threading.current_thread().name

    assert model_call(pipe, uses, "x", keyword=3) == (plain, model, 3, model)  # no second hop: the pipeline itself
    here = threading.current_thread().name
    assert model_call(plain, uses, "x") == (plain, here, None, here)  # a GPU's pipeline is called where it is


def test_sampling_threads_take_one_thread_for_the_decoder_on_the_cpu_and_put_the_count_back():
    class Pipe:
        device = torch.device("cpu")

    def inside(method):
        with sampling_threads(Pipe(), method):
            return torch.get_num_threads()

    thread = ModelThread()
    thread.call(torch.set_num_threads, 2)
    assert thread.call(inside, "decoder") == 1 and thread.call(inside, "vqgan") == 2
    assert thread.call(torch.get_num_threads) == 2
