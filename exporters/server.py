"""``ganzoo serve``: exported generators and translators over HTTP, speaking the Open Inference Protocol v2
(KServe / Triton).

Routes (``{name}`` is a served model; ``/versions/1`` may be inserted after it, as the protocol allows):

- ``GET /v2/health/live``, ``GET /v2/health/ready``: liveness and readiness (readiness lists each model's
  execution providers actually in use);
- ``GET /v2``: server metadata; ``GET /v2/models/{name}``: model metadata (inputs, outputs, platform);
- ``GET /v2/models/{name}/ready``;
- ``POST /v2/models/{name}/infer``: JSON tensors, or the binary tensor extension that ``tritonclient`` uses by
  default (``Inference-Header-Content-Length`` header, raw little-endian bytes after the JSON). Generators take
  the tensors of their input spec (``z`` FP32 ``[n, z_dim]``, and ``labels`` INT64 ``[n]`` if class-conditional);
  translators take ``images``, FP32 ``[n, C, H, W]`` in [-1, 1] or UINT8 ``[n, H, W, C]``, and answer with
  their graph's output (``images_out``: FP32 NCHW in [-1, 1], or UINT8 NHWC for a ``--uint8`` export);
- ``GET /sample/{name}.png?n=16&seed=0``: a PNG grid of a generator's samples, for people with a browser;
- ``POST /v2/models/{name}/translate.png[?resize=true]``: a translator's PNG upload for people. The request body
  is the image file itself (PNG or JPEG bytes, not a multipart form: ``curl --data-binary @in.png``); the answer is
  the translated image as a PNG. An image of another size than the model's is refused unless ``resize=true``.
  Inpainting models take the hole as ``?hole=center`` or ``?hole=X,Y,W,H`` (default: the centre hole); over the
  protocol they take a ``mask`` tensor (FP32 ``[n, 1, H, W]``, 1 where pixels are missing);
- ``GET /`` links them all (with an upload button for translators).

Limits (defaults in brackets; ``create_app`` / ``serve`` arguments and ``ganzoo serve`` options). A client's
mistake is a 4xx with ``{"error": "<what was wrong and what to do>"}``, never a 5xx; a busy server answers 503 with
``Retry-After``; every check runs before the work it guards:

- ``max_samples`` [256]: samples (or images) in one request, checked before a latent is drawn (``n=10**9``: 400);
- ``max_body_bytes`` [32 MiB]: an ``infer`` body, checked against Content-Length first and again after gzip or
  deflate (``Content-Encoding: gzip|deflate`` is accepted, inflated incrementally: a zip bomb costs at most the
  limit; other codings: 415), 413 over it; ``max_upload_bytes`` [16 MiB] and ``max_image_pixels`` [4096²] bound
  ``translate.png`` uploads the same way. JSON tensors cost about 30 bytes of memory per value: send large
  tensors with the binary extension;
- ``max_json_depth`` [32]: nesting of the request JSON; it must be UTF-8, without NaN/Infinity;
- ``body_timeout`` [5 s]: longest stall between two chunks of a body (408); ``request_timeout`` [60 s]: a whole
  request, queueing and inference included (503 with ``Retry-After``);
- ``max_inflight_bytes`` [256 MiB]: request bodies held by all requests in flight together, counted as they
  arrive (503 with ``Retry-After`` beyond): what bounds the memory a flood of large requests can take;
- connections (uvicorn, see ``uvicorn_config``): ``header_timeout`` [5 s] to send a request head (idle and
  slow-header connections are closed), ``timeout_keep_alive`` [5 s], ``limit_concurrency`` [1024] connections
  plus requests in flight (uvicorn's plain-text 503 beyond; idle connections count until ``header_timeout``
  closes them), ``backlog`` [256], ``max_header_bytes`` [16 KiB] of a request head still incomplete. A request
  with both Content-Length and Transfer-Encoding is refused (400), and the connection of any request refused
  before its body was read is closed.

Tensors are checked whole: a unique name, a known datatype, data that fits the shape exactly (flat, or nested as
the shape), numbers only (no booleans or nulls), integers within their datatype's range. Non-finite values:
NaN, ±Inf and floats beyond FP32's range in inputs are refused with a 400 (the models were never trained on them);
an output with NaN or ±Inf is refused with a 500 naming the model, never written into JSON (whose replies are
always valid JSON). Each model's metadata states this in its ``parameters`` (``ganzoo.server.accepts_non_finite``:
false, ``ganzoo.server.non_finite_outputs``) together with ``max_samples`` and ``max_body_bytes``.

Requests from all clients go through one ``DynamicBatcher`` per model: they are concatenated into one ONNX Runtime
call (up to ``max_batch_size`` samples, waiting at most ``max_queue_delay`` for company) and each caller gets its
own slice back. Translators are batched the same way: their images have one fixed shape, so concurrent requests'
images are concatenated like latents. Like ``runtime.py`` this module imports no torch.

Why this module is long: it is the whole server (the protocol's JSON and binary codecs and their checks, bounded
body reading, the batcher, the routes for generators and translators, the image upload, the uvicorn protocol with
its head timeout); the codecs and the limits could move to modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import io
import itertools
import json
import math
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ganzoo.errors import InferenceError
from ganzoo.exporters.runtime import OnnxGenerator, OnnxModel, OnnxTranslator, to_uint8_nhwc
from ganzoo.sampling import draw_codes

DATATYPES = {
    "FP32": np.float32,
    "FP16": np.float16,
    "FP64": np.float64,
    "INT64": np.int64,
    "INT32": np.int32,
    "UINT8": np.uint8,
}
DATATYPE_OF = {np.dtype(v).str: k for k, v in DATATYPES.items()}
#: an input spec's dtype -> the protocol's datatype name
SPEC_DATATYPES = {np.dtype(v).name: k for k, v in DATATYPES.items()}
HEADER_LENGTH = "Inference-Header-Content-Length"
VERSION = "1"

# Limits (module docstring: "Limits"); each is an argument of create_app / uvicorn_config and a serve option
DEFAULT_MAX_BODY_BYTES = 32 << 20  # an infer body, before and after gzip/deflate
DEFAULT_MAX_JSON_DEPTH = 32  # a request is nested about 8 deep; Python's parser gives up near 1000
DEFAULT_REQUEST_TIMEOUT = 60.0  # seconds for a whole request, queueing and inference included -> 503
DEFAULT_BODY_TIMEOUT = 5.0  # seconds a request body may stall between two chunks -> 408
DEFAULT_HEADER_TIMEOUT = 5.0  # seconds a connection may take to send a request head -> closed
DEFAULT_KEEP_ALIVE = 5.0  # seconds an idle kept-alive connection stays open (uvicorn's default)
DEFAULT_MAX_INFLIGHT_BYTES = 256 << 20  # request bodies held by all requests in flight together -> 503
DEFAULT_LIMIT_CONCURRENCY = 1024  # connections + requests in flight before uvicorn answers 503 (idle ones count)
DEFAULT_BACKLOG = 256  # connections the OS queues before accepting
DEFAULT_MAX_HEADER_BYTES = 16 << 10  # a request head (h11's incomplete-event limit) -> 400
# bodies and replies over these sizes are parsed / encoded on a worker thread, off the event loop
OFFLOAD_BYTES = 256 << 10
OFFLOAD_VALUES = 1 << 16


def datatype(array: np.ndarray) -> str:
    """The protocol's datatype name for a numpy array."""
    return DATATYPE_OF[array.dtype.newbyteorder("<").str if array.dtype.byteorder == ">" else array.dtype.str]


# -- batching -----------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    inputs: dict[str, np.ndarray]
    future: asyncio.Future = field(repr=False)

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))


class DynamicBatcher:
    """Merge concurrent requests for one model into single ONNX Runtime calls.

    Works for any exported model: each request is a dict of input arrays (``z``/``labels`` for generators,
    ``images`` for translators) with the batch on axis 0; a batch concatenates them input by input.
    """

    def __init__(self, model: OnnxModel, max_batch_size: int = 64, max_queue_delay: float = 0.002) -> None:
        self.model = model
        self.generator = model  # the name before translators were served
        self.max_batch_size = max_batch_size
        self.max_queue_delay = max_queue_delay
        # one runner thread: ONNX Runtime already spreads one call over every core
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganzoo-ort")
        self.queue: asyncio.Queue[_Pending] | None = None
        self.task: asyncio.Task | None = None
        self.batches = 0
        self.samples = 0

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop and the runner thread."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.executor.shutdown(wait=False)

    async def infer(self, inputs: dict[str, np.ndarray] | np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Queue one request (a dict of input arrays; or a generator's ``z`` and optional ``labels``) and wait for
        its own outputs."""
        if self.queue is None:
            raise RuntimeError("DynamicBatcher.start() was not called (the server's lifespan starts it)")
        if not isinstance(inputs, dict):
            inputs = {"z": inputs} if labels is None else {"z": inputs, "labels": labels}
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(inputs, future))
        return await future

    async def _next_batch(self, carry: _Pending | None) -> tuple[list[_Pending], _Pending | None]:
        """Wait for a first request, then gather more until the batch is full or the delay is over."""
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        first = carry if carry is not None else await self.queue.get()
        batch, size = [first], len(first)
        deadline = loop.time() + self.max_queue_delay
        while size < self.max_batch_size:
            try:
                if self.queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    item = await asyncio.wait_for(self.queue.get(), remaining)
                else:
                    item = self.queue.get_nowait()
            except TimeoutError:
                break
            if size + len(item) > self.max_batch_size:
                return batch, item  # it starts the next batch: a batch never exceeds the maximum
            batch.append(item)
            size += len(item)
        return batch, None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        carry: _Pending | None = None
        while True:
            batch, carry = await self._next_batch(carry)
            batch = [p for p in batch if not p.future.done()]  # the client went away
            if not batch:
                continue
            feeds = {name: np.concatenate([p.inputs[name] for p in batch]) for name in batch[0].inputs}
            n = sum(len(p) for p in batch)
            try:
                out = await loop.run_in_executor(self.executor, self.model.run_feeds, feeds)
            except Exception as exc:  # a failed run fails its callers, never the server
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(InferenceError(f"inference failed: {exc}", 500))
                continue
            self.batches += 1
            self.samples += n
            start = 0
            for p in batch:
                if not p.future.done():
                    p.future.set_result(out[start : start + len(p)])
                start += len(p)


# -- protocol helpers ---------------------------------------------------------------------------------------

#: most dimensions a tensor may declare (the models take at most 4; a bound keeps error messages short)
MAX_DIMS = 8
#: seeds are drawn with numpy's ``default_rng``; the bound keeps them in an INT64, as clients store them
SEED_LIMIT = 2**63
#: Python types a JSON tensor's elements may have, per datatype family (bool is not a number here)
_NUMBER_TYPES = {"f": (int, float), "i": (int,), "u": (int,)}


def _kind(value: Any) -> str:
    """What a JSON value is, in words, for error messages (never the value itself, which may be huge)."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` clipped to ``limit`` characters: error messages echo what was sent, never all of it."""
    if isinstance(value, (list, dict)) and len(value) > 8:
        return f"{_kind(value)} of {len(value)} items"
    try:
        text = repr(value)
    except RecursionError:  # a deeply nested value: describe it instead of printing it
        return _kind(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parameters(owner: dict[str, Any], where: str) -> dict[str, Any]:
    """``owner["parameters"]`` (``{}`` when absent or null), refused unless it is a JSON object."""
    value = owner.get("parameters")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InferenceError(f"{where}: 'parameters' must be a JSON object, got {_kind(value)}")
    return value


def _flag(params: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A boolean parameter such as ``binary_data_output``; ``"false"`` and ``0`` are refused, not read as true."""
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InferenceError(f"{where}: parameter {key!r} must be true or false, got {_short(value)}")
    return value


def check_json_depth(value: Any, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (iteratively: a deep value must not recurse here either)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InferenceError(f"the request JSON is nested deeper than {limit} levels, the most this server reads")
        children = item.values() if isinstance(item, dict) else item
        if not set(map(type, children)).isdisjoint((list, dict)):  # fast for the long flat lists of tensor data
            stack.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))


def _refuse_constant(name: str) -> None:
    """``json.loads``'s ``parse_constant`` hook: NaN and Infinity are not JSON, and not tensor values here."""
    raise ValueError(f"{name} is not a JSON number (and this server refuses non-finite inputs)")


def parse_request(body: bytes, header_length: str | None, *, max_depth: int = 32) -> tuple[dict[str, Any], bytes]:
    """Split a request into its JSON header and the binary tail (empty for pure-JSON requests), and check the
    header's structure: an object with an ``inputs`` list, optional ``outputs`` list, ``parameters`` object and
    ``id`` string, nested at most ``max_depth`` levels. Raises ``InferenceError`` (400) for anything else."""
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError:
            raise InferenceError(f"{HEADER_LENGTH} must be an integer, got {_short(header_length)}") from None
        if not 0 < n <= len(body):
            raise InferenceError(f"malformed request: {HEADER_LENGTH} {n} outside the body's {len(body)} bytes")
        head, tail = body[:n], body[n:]
    else:
        head, tail = body, b""
    try:
        text = head.decode("utf-8")  # the protocol's JSON is UTF-8; json.loads(bytes) would also guess UTF-16/32
    except UnicodeDecodeError as exc:
        raise InferenceError(f"malformed request: the JSON is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        request = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InferenceError(f"the request JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of over 4300 digits
        reason = str(exc)
        if "integer string conversion" in reason:  # Python's advice (sys.set_int_max_str_digits) is not for clients
            reason = "an integer in the JSON has more digits than Python converts (4300)"
        raise InferenceError(f"malformed request: {reason[:200]}") from None
    if not isinstance(request, dict):
        raise InferenceError(f"malformed request: expected a JSON object with an 'inputs' list, got {_kind(request)}")
    check_json_depth(request, max_depth)
    if not isinstance(request.get("inputs", []), list):
        raise InferenceError(f"malformed request: 'inputs' must be a list, got {_kind(request['inputs'])}")
    _parameters(request, "the request")
    if "id" in request and not isinstance(request["id"], str):
        raise InferenceError(f"'id' must be a string, got {_kind(request['id'])}")
    outputs = request.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list):
            raise InferenceError(f"'outputs' must be a list of {{'name': ...}} objects, got {_kind(outputs)}")
        for i, spec in enumerate(outputs):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise InferenceError(f"outputs[{i}] must be an object with a string 'name', got {_short(spec)}")
            _parameters(spec, f"output {spec['name']!r}")
    return request, tail


def _input_header(spec: Any, index: int) -> tuple[str, str, list[int], dict[str, Any]]:
    """One input's ``name``, ``datatype``, ``shape`` and ``parameters``, each checked."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise InferenceError(f"inputs[{index}] must be an object with a string 'name', 'shape', 'datatype', 'data'")
    name, shape, dtype_name = spec["name"], spec.get("shape"), spec.get("datatype")
    if not isinstance(dtype_name, str) or dtype_name not in DATATYPES:
        raise InferenceError(f"input {name!r}: unsupported datatype {_short(dtype_name)}; use one of {list(DATATYPES)}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(type(d) is int and d >= 0 for d in shape)  # type(): True is an int to isinstance
    ):
        raise InferenceError(
            f"input {name!r}: 'shape' must be a list of at most {MAX_DIMS} non-negative integers, got {_short(shape)}"
        )
    return name, dtype_name, shape, _parameters(spec, f"input {name!r}")


def _json_tensor(name: str, data: Any, shape: list[int], dtype_name: str) -> np.ndarray:
    """A tensor from JSON ``data``: flat (row-major) or nested exactly as ``shape``; every element a number of
    the datatype's kind and range. Checked before numpy sees it, because numpy would quietly turn ``true`` into
    1.0, ``1e39`` into inf, ``-1`` into 255 for UINT8, and wrap an integer of 5,000 digits into an error."""
    dtype = np.dtype(DATATYPES[dtype_name])
    where = f"input {name!r}"
    if not isinstance(data, list):
        raise InferenceError(f"{where}: 'data' must be a list of numbers, got {_kind(data)}")
    flat, nested = data, [len(data)]
    while flat and type(flat[0]) is list:  # nested lists: one level at a time, each level a list of equal lists
        if set(map(type, flat)) != {list} or len(set(map(len, flat))) != 1:
            raise InferenceError(f"{where}: nested 'data' is ragged or mixes lists and numbers")
        nested.append(len(flat[0]))
        flat = list(itertools.chain.from_iterable(flat))
    if len(nested) > 1 and nested != shape:
        raise InferenceError(f"{where}: nested 'data' has shape {nested} but 'shape' says {shape}")
    if len(flat) != math.prod(shape):
        raise InferenceError(
            f"{where}: data does not fit shape {shape} of {dtype_name}: {len(flat)} values for {math.prod(shape)}"
        )
    allowed = _NUMBER_TYPES[dtype.kind]
    wrong = {t for t in set(map(type, flat)) if t not in allowed}
    if wrong:
        kinds = ", ".join(sorted(_kind(t()) for t in wrong))
        what = "integers" if dtype.kind in "iu" else "numbers"
        raise InferenceError(f"{where}: {dtype_name} 'data' must hold {what} only; it holds {kinds}")
    if flat:
        info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
        # Python numbers on both sides: exact for any int, never a numpy overflow
        lowest, highest = (float(info.min), float(info.max)) if dtype.kind == "f" else (info.min, info.max)
        low, high = min(flat), max(flat)
        if low < lowest or high > highest:
            bad = low if low < lowest else high
            raise InferenceError(
                f"{where}: {_short(bad)} is outside {dtype_name}'s range [{lowest:.4g}, {highest:.4g}]"
                + (" (non-finite values are refused)" if dtype.kind == "f" else "")
            )
    return np.array(flat, dtype=dtype).reshape(shape)


def decode_inputs(request: dict[str, Any], tail: bytes, *, max_samples: int | None = None) -> dict[str, np.ndarray]:
    """The request's input tensors as numpy arrays, from JSON ``data`` or from the binary tail.

    Every input is checked before its data is converted: unique name, known datatype, a shape whose batch axis is
    at most ``max_samples``, data that fits the shape exactly; float tensors must be finite (NaN and ±Inf are
    refused with a 400: the models were never trained on them, and they would come back as NaN images).
    """
    tensors: dict[str, np.ndarray] = {}
    offset = 0
    for index, spec in enumerate(request.get("inputs", [])):
        name, dtype_name, shape, params = _input_header(spec, index)
        if name in tensors:
            raise InferenceError(f"two inputs are named {name!r}: send each input once")
        if max_samples is not None and shape and shape[0] > max_samples:
            raise InferenceError(
                f"input {name!r}: {shape[0]} samples requested; this server allows at most {max_samples} per request"
            )
        dtype = np.dtype(DATATYPES[dtype_name])
        size = params.get("binary_data_size")
        if size is not None:
            expected = math.prod(shape) * dtype.itemsize
            if type(size) is not int or size < 0:
                raise InferenceError(f"input {name!r}: binary_data_size must be a byte count, got {_short(size)}")
            if offset + size > len(tail):
                raise InferenceError(f"input {name!r}: binary_data_size {size} runs past the request body")
            if size != expected:
                raise InferenceError(
                    f"input {name!r}: binary_data_size {size} does not match shape {shape} of {dtype_name} "
                    f"({expected} bytes)"
                )
            little = dtype.newbyteorder("<")
            array = np.frombuffer(tail, little, count=math.prod(shape), offset=offset).reshape(shape)
            array = array.astype(dtype, copy=False)
            offset += size
        elif "data" in spec:
            array = _json_tensor(name, spec["data"], shape, dtype_name)
        else:
            raise InferenceError(f"input {name!r} has neither 'data' nor a binary_data_size parameter")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InferenceError(f"input {name!r} holds NaN or infinite values; this server refuses non-finite inputs")
        tensors[name] = array
    if offset != len(tail):
        raise InferenceError(
            f"the request has {len(tail) - offset} bytes of binary data after the inputs' binary_data_size: "
            f"check {HEADER_LENGTH} and each input's binary_data_size"
        )
    return tensors


def encode_response(model: str, request: dict[str, Any], name: str, array: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """The response body and headers: JSON data, or binary when the client asked for it (as tritonclient does).

    A float output with NaN or ±Inf is refused with a 500 (the model, not the client, is at fault), in JSON and in
    binary alike: JSON has no such numbers, and a reply should not depend on the encoding asked for.
    """
    wanted = request.get("outputs")
    binary = _flag(_parameters(request, "the request"), "binary_data_output", False, "the request")
    if isinstance(wanted, list) and wanted:
        names = [o["name"] for o in wanted]
        if name not in names:
            raise InferenceError(f"model {model!r} has one output, {name!r}; requested {_short(names)}")
        spec = next(o for o in wanted if o["name"] == name)
        binary = _flag(_parameters(spec, f"output {name!r}"), "binary_data", binary, f"output {name!r}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InferenceError(
            f"model {model!r} produced non-finite values (NaN or Inf) for these inputs; the server does not send "
            "them (see the model metadata's ganzoo.server.non_finite_outputs)",
            500,
        )
    output: dict[str, Any] = {"name": name, "datatype": datatype(array), "shape": list(array.shape)}
    response: dict[str, Any] = {"model_name": model, "model_version": VERSION, "outputs": [output]}
    if "id" in request:
        response["id"] = request["id"]
    if not binary:
        output["data"] = array.ravel().tolist()
        return json.dumps(response, allow_nan=False).encode(), {"content-type": "application/json"}
    raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    output["parameters"] = {"binary_data_size": len(raw)}
    head = json.dumps(response, allow_nan=False).encode()
    return head + raw, {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}


# -- request bodies -----------------------------------------------------------------------------------------

#: Content-Encoding -> zlib wbits (gzip: 16 + 15; deflate: the zlib format that HTTP and tritonclient mean)
ENCODINGS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


def content_encoding(request: Request) -> str:
    """The request's single content coding (``identity`` if none); 415 for one this server cannot undo."""
    codings = [c.strip().lower() for c in request.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1 or (codings and codings[0] not in ENCODINGS):
        raise InferenceError(
            f"Content-Encoding {_short(request.headers['content-encoding'])} is not supported; "
            "send the body uncompressed, or with gzip or deflate",
            415,
        )
    return codings[0] if codings else "identity"


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``gzip`` or ``deflate``, refusing (413) output over ``limit`` bytes without ever inflating more than
    ``limit + 1`` bytes: a zip bomb costs at most the limit in memory."""
    wbits = ENCODINGS[encoding]
    if encoding == "deflate" and (len(body) < 2 or (body[0] & 0x0F != 8) or int.from_bytes(body[:2], "big") % 31):
        wbits = -15  # raw deflate without the zlib header, as some clients send "deflate"
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InferenceError(f"the {encoding} request body cannot be decompressed: {exc}") from None
    if len(out) > limit:
        raise InferenceError(f"the request body inflates to over {limit} bytes, the most this server accepts", 413)
    if not inflater.eof or inflater.unused_data:
        raise InferenceError(f"the {encoding} request body is truncated or has trailing bytes")
    return out


class BodyBudget:
    """The bytes of request bodies that requests in flight hold, bounded by ``limit``: what a flood of large
    requests would pile up in memory (their decoded tensors are a small multiple of it). A request whose bytes
    would exceed it gets a 503; its handler gives its bytes back when it ends (``release``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, request: Request, n: int) -> None:
        """Count ``n`` more bytes against ``request``, or refuse them (503) when the budget is spent."""
        if self.used + n > self.limit:
            raise InferenceError(
                f"the server already holds {self.used} bytes of requests in flight (its max_inflight_bytes is "
                f"{self.limit}): retry in a moment",
                503,
            )
        self.used += n
        request.state.budget_held = getattr(request.state, "budget_held", 0) + n

    def release(self, request: Request) -> None:
        """Give back everything ``request`` took (idempotent)."""
        self.used -= getattr(request.state, "budget_held", 0)
        request.state.budget_held = 0


async def read_body(request: Request, limit: int, idle_timeout: float, budget: BodyBudget | None = None) -> bytes:
    """The request body, read with bounds: 400 for both Content-Length and Transfer-Encoding (a smuggling
    pattern), 413 over ``limit`` bytes (compressed or not; checked against Content-Length before reading), 408
    when no bytes arrive for ``idle_timeout`` seconds, 415 for an unknown Content-Encoding, 503 when the bytes
    would exceed ``budget`` (counted as they arrive). gzip and deflate bodies are inflated, up to ``limit`` bytes."""
    headers = request.headers
    if "content-length" in headers and "transfer-encoding" in headers:
        raise InferenceError("the request has both Content-Length and Transfer-Encoding; send one of them")
    encoding = content_encoding(request)
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InferenceError(f"the request body is {int(declared)} bytes; this server accepts at most {limit}", 413)
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise InferenceError(
                f"no bytes of the request body arrived for {idle_timeout:g} s: send the whole body at once", 408
            ) from None
        except ClientDisconnect:
            raise InferenceError("the client closed the connection before sending the whole body") from None
        size += len(chunk)
        if size > limit:
            raise InferenceError(f"the request body is over {limit} bytes, the most this server accepts", 413)
        if budget is not None:
            budget.take(request, len(chunk))
        chunks.append(chunk)
    request.state.body_read = True  # the connection may be reused: see on_error
    body = b"".join(chunks)
    if encoding != "identity":
        body = await run_in_threadpool(decompress, body, encoding, limit)
        if budget is not None:
            budget.take(request, len(body))
    return body


# -- the app ------------------------------------------------------------------------------------------------


@dataclass
class ServedModel:
    """One model (an ``OnnxGenerator`` or an ``OnnxTranslator``) behind the server."""

    name: str
    model: OnnxModel
    batcher: DynamicBatcher
    #: what the server adds to the model's metadata ``parameters`` (its limits and NaN policy)
    server_parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def generator(self) -> OnnxModel:
        """The served model (its name from before translators were served)."""
        return self.model

    @property
    def is_translator(self) -> bool:
        """Whether the model translates images (``images`` in) rather than generating them."""
        return isinstance(self.model, OnnxTranslator)

    def metadata(self) -> dict[str, Any]:
        """The protocol's model metadata: inputs from the file's input spec, the output as the graph emits it."""
        m = self.model
        inputs = [
            {"name": s.name, "datatype": SPEC_DATATYPES.get(s.dtype, s.dtype.upper()), "shape": [-1, *s.shape]}
            for s in m.input_specs
        ]
        out_type = "UINT8" if m.uint8_output else "FP32"
        return {
            "name": self.name,
            "versions": [VERSION],
            "platform": "onnxruntime_onnx",
            "inputs": inputs,
            "outputs": [{"name": m.output_name, "datatype": out_type, "shape": [-1, *m.graph_output_shape]}],
            "parameters": {k: v for k, v in m.metadata.items() if k.startswith("ganzoo.")} | self.server_parameters,
        }


IMAGE_FORMATS = ("PNG", "JPEG")


def create_app(
    models: dict[str, OnnxModel],
    *,
    max_batch_size: int = 64,
    max_queue_delay: float = 0.002,
    max_samples: int = 256,
    max_upload_bytes: int = 16 << 20,
    max_image_pixels: int = 4096 * 4096,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
) -> Starlette:
    """The ASGI app serving ``models`` (name -> ``OnnxGenerator`` or ``OnnxTranslator``, e.g. from
    ``open_model``); run it with uvicorn (``ganzoo serve`` does, through ``uvicorn_config``).

    ``max_samples`` bounds one request's batch (samples or images), checked before any latent is drawn or tensor
    converted; ``max_upload_bytes`` and ``max_image_pixels`` bound an image uploaded to ``translate.png`` and
    ``max_body_bytes`` an ``infer`` body, before and after gzip/deflate (larger ones get a 413);
    ``max_json_depth`` bounds the request JSON's nesting; ``body_timeout`` is how long a body may stall between
    two chunks (408); ``request_timeout`` bounds a whole request, queueing and inference included (503);
    ``max_inflight_bytes`` bounds the request bodies all requests in flight hold together (503 beyond).
    """
    if not models:
        raise ValueError("serve at least one model")
    if max_batch_size < 1 or max_samples < 1 or max_queue_delay < 0:
        raise ValueError("max_batch_size and max_samples must be positive and max_queue_delay non-negative")
    if min(max_upload_bytes, max_body_bytes, max_image_pixels, max_json_depth, max_inflight_bytes) < 1:
        raise ValueError(
            "max_upload_bytes, max_body_bytes, max_image_pixels, max_json_depth and max_inflight_bytes must be positive"
        )
    if max_inflight_bytes < max(max_body_bytes, max_upload_bytes):
        raise ValueError("max_inflight_bytes must be at least max_body_bytes and max_upload_bytes")
    if request_timeout <= 0 or body_timeout <= 0:
        raise ValueError("request_timeout and body_timeout must be positive (seconds)")
    budget = BodyBudget(max_inflight_bytes)
    limits = {
        "ganzoo.server.max_samples": max_samples,
        "ganzoo.server.max_body_bytes": max_body_bytes,
        "ganzoo.server.request_timeout_s": request_timeout,
        "ganzoo.server.accepts_non_finite": False,
        "ganzoo.server.non_finite_inputs": "refused with 400",
        "ganzoo.server.non_finite_outputs": "refused with 500",
    }
    served = {
        name: ServedModel(name, g, DynamicBatcher(g, max_batch_size, max_queue_delay), limits)
        for name, g in models.items()
    }

    def model_of(request: Request) -> ServedModel:
        name = request.path_params["name"]
        version = request.path_params.get("version", VERSION)
        if name not in served or version != VERSION:
            raise InferenceError(f"unknown model {name!r} (version {version}); serving {sorted(served)}", 404)
        return served[name]

    def check_count(n: int) -> None:
        if n > max_samples:
            raise InferenceError(f"{n} samples requested; this server allows at most {max_samples} per request")
        if n == 0:
            raise InferenceError("the batch is empty: ask for at least one sample")

    async def generate(
        model: ServedModel, z: np.ndarray, labels: np.ndarray | None, codes: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        check_count(len(z))
        feeds = {"z": z, **({"labels": labels} if labels is not None else {}), **(codes or {})}
        return await model.batcher.infer(feeds)

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        body = {
            "ready": True,
            "models": {n: {"ready": True, "providers": m.model.providers} for n, m in served.items()},
        }
        return JSONResponse(body)

    async def server_metadata(request: Request) -> Response:
        from ganzoo.version import __version__

        extensions = ["binary_tensor_data", "ganzoo_png", "ganzoo_translate_png"]
        return JSONResponse({"name": "ganzoo", "version": __version__, "extensions": extensions})

    async def model_metadata(request: Request) -> Response:
        return JSONResponse(model_of(request).metadata())

    async def model_ready(request: Request) -> Response:
        model = model_of(request)
        return JSONResponse({"name": model.name, "ready": True, "providers": model.model.providers})

    # two codec threads: JSON encoding holds the GIL, so more would not be faster, only hold more replies in memory
    codec = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ganzoo-codec")

    async def offload(function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on a codec thread, so that the event loop keeps batching and answering meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(codec, function, *args)

    def decode(raw: bytes, header_length: str | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        body, tail = parse_request(raw, header_length, max_depth=max_json_depth)
        return body, decode_inputs(body, tail, max_samples=max_samples)

    async def infer(request: Request) -> Response:
        model = model_of(request)
        raw = await read_body(request, max_body_bytes, body_timeout, budget)
        header_length = request.headers.get(HEADER_LENGTH)
        # large bodies are parsed off the event loop, so one big JSON request does not stall the others
        if len(raw) > OFFLOAD_BYTES:
            body, tensors = await offload(decode, raw, header_length)
        else:
            body, tensors = decode(raw, header_length)
        if isinstance(model.model, OnnxTranslator):
            out = await translate_tensors(model, tensors)
        else:
            out = await generate_tensors(model, tensors, body)
        encode = functools.partial(encode_response, model.name, body, model.model.output_name, out)
        payload, headers = await offload(encode) if out.size > OFFLOAD_VALUES else encode()
        return Response(payload, headers=headers)

    async def generate_tensors(model: ServedModel, tensors: dict[str, np.ndarray], body: dict) -> np.ndarray:
        g = model.model
        assert isinstance(g, OnnxGenerator)
        expected = set(g.inputs)
        if set(tensors) != expected:
            # ganzoo extension: no inputs at all, but parameters {"n": ..., "seed": ...} draw the latents here
            params = _parameters(body, "the request")
            if not tensors and "n" in params and "labels" not in expected:
                tensors = {"z": _seeded(g, params, max_samples)}
                tensors.update(_seeded_codes(g, len(tensors["z"]), params))
            else:
                raise InferenceError(f"model {model.name!r} takes inputs {sorted(expected)}; got {sorted(tensors)}")
        z = tensors["z"]
        if z.dtype != np.float32 or z.ndim != 2 or z.shape[1] != g.z_dim:
            raise InferenceError(f"input 'z' must be FP32 of shape [n, {g.z_dim}], got {datatype(z)} {list(z.shape)}")
        labels = tensors.get("labels")
        if labels is not None:
            if labels.dtype != np.int64 or labels.shape != (len(z),):
                raise InferenceError(f"input 'labels' must be INT64 of shape [{len(z)}]")
            try:
                g.check_labels(labels, len(z))
            except ValueError as exc:
                raise InferenceError(f"input 'labels': {exc}") from exc
        code_specs = [s for s in g.input_specs if s.name not in ("z", "labels")]
        for spec in code_specs:  # InfoGAN-style codes: dtype, shape and range from the input spec
            value = tensors[spec.name]
            if value.dtype != np.dtype(spec.dtype) or value.shape != (len(z), *spec.shape):
                shape = [len(z), *spec.shape]
                raise InferenceError(
                    f"input {spec.name!r} must be {datatype(np.zeros(0, spec.dtype))} of shape {shape}, "
                    f"got {datatype(value)} {list(value.shape)}"
                )
        try:
            codes = draw_codes(g.input_specs, len(z), None, {s.name: tensors[s.name] for s in code_specs})
        except ValueError as exc:
            raise InferenceError(str(exc)) from exc
        return await generate(model, z, labels, codes)

    async def translate_tensors(model: ServedModel, tensors: dict[str, np.ndarray]) -> np.ndarray:
        t = model.model
        assert isinstance(t, OnnxTranslator)
        names = {t.input_name} | ({t.mask_spec.name} if t.mask_spec is not None else set())
        optional = {t.mask_spec.name} if t.mask_spec is not None and t.config.get("hole") == "center" else set()
        if not names - optional <= set(tensors) <= names:
            raise InferenceError(f"model {model.name!r} takes inputs {sorted(names)}; got {sorted(tensors)}")
        images = tensors[t.input_name]
        c, h, w = t.input_shape
        forms = f"FP32 [n, {c}, {h}, {w}] in [-1, 1] or UINT8 [n, {h}, {w}, {c}]"
        fits = (images.dtype == np.float32 and images.shape[1:] == (c, h, w)) or (
            images.dtype == np.uint8 and images.shape[1:] == (h, w, c)
        )
        if images.ndim != 4 or not fits:
            raise InferenceError(f"input {t.input_name!r} must be {forms}; got {datatype(images)} {list(images.shape)}")
        check_count(len(images))
        try:
            x = t.as_input(images)
        except ValueError as exc:
            raise InferenceError(f"input {t.input_name!r}: {exc}") from exc
        feeds = {t.input_name: x}
        if t.mask_spec is not None:  # inpainting: FP32 [n, 1, H, W] of 0/1 (or UINT8 0/255); default the centre hole
            mask = tensors.get(t.mask_spec.name)
            if mask is not None and (mask.ndim != 4 or mask.shape[:2] != (len(x), 1)):
                raise InferenceError(
                    f"input {t.mask_spec.name!r} must be FP32 [n, 1, H, W] (1 where pixels are missing), got "
                    f"{datatype(mask)} {list(mask.shape)}"
                )
            try:
                feeds[t.mask_spec.name] = t.as_mask(mask, len(x))
            except ValueError as exc:
                raise InferenceError(f"input {t.mask_spec.name!r}: {exc}") from exc
        return await model.batcher.infer(feeds)

    async def sample_png(request: Request) -> Response:
        from ganzoo.sampling import make_grid

        name = request.path_params["name"]
        model = model_of(request)
        if isinstance(model.model, OnnxTranslator):
            raise InferenceError(
                f"model {name!r} translates images: POST one to /v2/models/{name}/translate.png "
                f"(curl --data-binary @in.png -H 'content-type: image/png' ...)"
            )
        if not model.model.is_image:
            raise InferenceError(f"model {name!r} does not make images", 400)
        z = _seeded(model.model, dict(request.query_params), max_samples)
        labels = None
        if "labels" in model.model.inputs:  # class-conditional: ?label=K, or one class after another
            spec = model.model.label_spec
            high = int(spec.value_range[1]) if spec and spec.value_range else 0
            try:
                label = request.query_params.get("label")
                labels = np.full(len(z), int(label)) if label else np.arange(len(z)) % (high + 1)
                labels = model.model.check_labels(labels, len(z))
            except (ValueError, OverflowError) as exc:  # OverflowError: a label beyond INT64
                raise InferenceError(f"label: {exc}") from exc
        out = await generate(model, z, labels, _seeded_codes(model.model, len(z), dict(request.query_params)))
        images = out if model.model.uint8_output else to_uint8_nhwc(out)
        # PNG compression of a 256-image grid takes a while: on a codec thread, not the event loop
        return Response(await offload(encode_png, make_grid(images)), media_type="image/png")

    async def translate_png(request: Request) -> Response:
        model = model_of(request)
        t = model.model
        if not isinstance(t, OnnxTranslator):
            raise InferenceError(
                f"model {model.name!r} generates images, it does not translate them: GET /sample/{model.name}.png"
            )
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            raise InferenceError(
                "send the image file itself as the request body, not a form: "
                "curl --data-binary @in.png -H 'content-type: image/png' URL",
                415,
            )
        body = await read_body(request, max_upload_bytes, body_timeout, budget)
        if not body:
            raise InferenceError(
                "the request body is empty: POST the PNG or JPEG file itself (curl --data-binary @in.png)"
            )
        c, h, w = t.input_shape
        resize = request.query_params.get("resize", "").lower() in ("1", "true", "yes")
        array = await run_in_threadpool(decode_image, body, (w, h), c, resize, max_image_pixels)
        x = t.as_input(array)
        feeds = {t.input_name: x}
        if t.mask_spec is not None:  # inpainting: ?hole=center or ?hole=X,Y,W,H (pixels); default the centre
            try:
                feeds[t.mask_spec.name] = t.hole_mask(request.query_params.get("hole"), len(x))
            except ValueError as exc:
                raise InferenceError(f"hole: {exc}") from exc
        out = await model.batcher.infer(feeds)
        images = out if t.uint8_output else to_uint8_nhwc(out)
        return Response(await run_in_threadpool(encode_png, images[0]), media_type="image/png")

    async def index(request: Request) -> Response:
        items = []
        for n, m in served.items():
            name = html.escape(n)
            if isinstance(m.model, OnnxTranslator):
                items.append(
                    f"<li><h2>{name}</h2><input type=file accept='image/png,image/jpeg' "
                    f"onchange=\"up(this, '{name}')\"> <img id='out-{name}' alt=''></li>"
                )
            elif m.model.is_image:
                items.append(f'<li><h2>{name}</h2><img src="/sample/{name}.png?n=16&amp;seed=0" alt="samples"></li>')
        script = (
            "<script>async function up(input, name) {"
            " const r = await fetch('/v2/models/' + name + '/translate.png?resize=true', "
            "{method: 'POST', body: input.files[0], headers: {'content-type': input.files[0].type}});"
            " if (!r.ok) { alert((await r.json()).error); return; }"
            " document.getElementById('out-' + name).src = URL.createObjectURL(await r.blob()); }</script>"
        )
        return HTMLResponse(f"<!doctype html><title>ganzoo serve</title>{script}<ul>{''.join(items)}</ul>")

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, InferenceError):
            response = JSONResponse({"error": str(exc)}, status_code=exc.status)
        elif isinstance(exc, HTTPException):
            response = JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        else:
            response = JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)
        if request.method == "POST" and not getattr(request.state, "body_read", False):
            # refused before its body was read (413, 415, a stalled body): the rest of that body would be read as
            # the next request, so the connection cannot be reused
            response.headers["connection"] = "close"
        if response.status_code == 503:
            response.headers["retry-after"] = "1"
        return response

    def timed(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` bounded by ``request_timeout`` (a 503 after it), queueing and inference included; the body
        bytes it took from the budget are given back however it ends."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                return await asyncio.wait_for(handler(request), request_timeout)
            except TimeoutError:
                raise InferenceError(
                    f"the request did not finish within {request_timeout:g} s (the server's request timeout): "
                    "the server is busy; retry later or ask for fewer samples",
                    503,
                ) from None
            finally:
                budget.release(request)

        return endpoint

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for model in served.values():
            model.batcher.start()
        yield
        for model in served.values():
            await model.batcher.stop()
        codec.shutdown(wait=False)

    model_routes: list[Route] = []
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        model_routes += [
            Route(prefix, model_metadata),
            Route(prefix + "/ready", model_ready),
            Route(prefix + "/infer", timed(infer), methods=["POST"]),
            Route(prefix + "/translate.png", timed(translate_png), methods=["POST"]),
        ]
    routes = [
        Route("/", index),
        Route("/v2", server_metadata),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        *model_routes,
        Route("/sample/{name}.png", timed(sample_png)),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={InferenceError: on_error, HTTPException: on_error, Exception: on_error},
    )
    app.state.models = served
    app.state.budget = budget
    return app


def decode_image(body: bytes, size: tuple[int, int], channels: int, resize: bool, max_pixels: int) -> np.ndarray:
    """A PNG or JPEG file -> uint8 ``(1, H, W, C)`` for a model taking ``size`` (W, H) images of ``channels``.

    Raises ``InferenceError``: 400 for what is not a PNG/JPEG or has the wrong size (unless ``resize``), 413 for
    more than ``max_pixels`` pixels (checked before the pixels are decoded).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(body))
    except Image.DecompressionBombError as exc:
        raise InferenceError(f"the image has too many pixels: {exc}", 413) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InferenceError(f"the body is not a PNG or JPEG image ({exc})") from exc
    if image.format not in IMAGE_FORMATS:
        raise InferenceError(f"the body is a {image.format} image; send PNG or JPEG", 415)
    width, height = image.size
    if width * height > max_pixels:
        raise InferenceError(f"the image has {width}x{height} pixels; this server accepts at most {max_pixels}", 413)
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InferenceError(f"the image cannot be decoded (truncated or corrupt?): {exc}") from exc
    if image.size != size:
        if not resize:
            raise InferenceError(
                f"the image is {width}x{height} pixels but the model translates {size[0]}x{size[1]}: resize it, "
                "or add ?resize=true to have the server resize it"
            )
        image = image.resize(size, Image.Resampling.BICUBIC)
    pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    return pixels.reshape(1, size[1], size[0], channels)


def encode_png(image: np.ndarray) -> bytes:
    """One uint8 ``(H, W, C)`` image -> PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def _integer(params: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int | None:
    """The integer parameter ``key`` (a query-string string or a JSON integer), checked to lie in [low, high)
    before anything is computed from it; ``default`` when absent or empty."""
    value = params.get(key)
    if value is None or value == "":
        return default
    text = value.strip() if isinstance(value, str) else None
    if type(value) is not int and not (text and len(text) <= 24 and text.lstrip("+-").isdigit()):
        raise InferenceError(f"'n' and 'seed' must be integers, got {key}={_short(value)}")
    number = int(value)
    if not low <= number < high:
        raise InferenceError(f"'{key}' must be an integer in [{low}, {high - 1}], got {number}")
    return number


def _seeded_codes(generator: OnnxGenerator, n: int, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """InfoGAN-style codes for a seeded request: drawn from the seed as ``Generator.sample`` draws them."""
    return draw_codes(generator.input_specs, n, _integer(params, "seed", None, 0, SEED_LIMIT))


def _seeded(generator: OnnxGenerator, params: dict[str, Any], max_samples: int) -> np.ndarray:
    """Latents for the ``n``/``seed`` parameters (query string or request parameters). ``n`` is checked against
    ``max_samples`` before a single latent is drawn: a request for 10**9 samples costs nothing."""
    from ganzoo.sampling import latents

    n = _integer(params, "n", 16, 1, max_samples + 1)
    seed = _integer(params, "seed", None, 0, SEED_LIMIT)
    assert n is not None
    return latents(n, generator.z_dim, seed)


# -- running it ---------------------------------------------------------------------------------------------


def guarded_h11_protocol(
    header_timeout: float, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request head ``header_timeout``
    seconds after it opened or after its last response, and answering unparseable requests in JSON.

    Why: uvicorn's keep-alive timer starts only after a first response and stops at the first byte of the next
    request, so a connection that sends nothing, or a header line every few seconds, was held forever (300 idle
    connections all stayed open, and count against ``limit_concurrency``). ``max_header_bytes`` is only named in
    the 400 for a request h11 cannot parse (uvicorn's ``h11_max_incomplete_event_size`` enforces it).
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a whole request head arrived: its handler's own timeouts take over
                self._stop_head_timer()

        def on_response_complete(self) -> None:
            self._arm_head_timer()  # before: a pipelined request parsed in there stops it again
            super().on_response_complete()

        def _arm_head_timer(self) -> None:
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request h11 cannot parse, as ``{"error": ...}`` like every other 4xx here."""
            error = (
                f"{msg} It is not valid HTTP/1.1, or its head is over {max_header_bytes} bytes "
                "(the server's max_header_bytes)."
            )
            body = json.dumps({"error": error}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            for event in (h11.Response(status_code=400, headers=headers), h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return GuardedH11Protocol


def uvicorn_config(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    limit_concurrency: int | None = DEFAULT_LIMIT_CONCURRENCY,
    backlog: int = DEFAULT_BACKLOG,
    timeout_keep_alive: float = DEFAULT_KEEP_ALIVE,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> Any:
    """The ``uvicorn.Config`` that ``serve`` runs ``app`` with: the h11 protocol (whose header size limit uvicorn
    enforces) with the head timeout of ``guarded_h11_protocol``, and uvicorn's connection limits.

    ``limit_concurrency``: connections plus requests in flight before new requests get a 503 (``None``: no
    limit); ``backlog``: connections the OS queues before accepting; ``timeout_keep_alive``: how long an idle
    kept-alive connection stays open; ``header_timeout``: how long a connection may take to send a request head;
    ``max_header_bytes``: the most bytes of a request head buffered before it is complete (h11's rule; beyond: a
    400 and the connection closed).
    """
    import uvicorn

    if header_timeout <= 0 or timeout_keep_alive <= 0 or max_header_bytes < 1 or backlog < 1:
        raise ValueError("header_timeout, timeout_keep_alive, max_header_bytes and backlog must be positive")
    if limit_concurrency is not None and limit_concurrency < 1:
        raise ValueError(f"limit_concurrency must be positive or None, got {limit_concurrency}")
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=guarded_h11_protocol(header_timeout, max_header_bytes),
        limit_concurrency=limit_concurrency,
        backlog=backlog,
        timeout_keep_alive=timeout_keep_alive,  # type: ignore[arg-type]  (uvicorn reads it as seconds, any number)
        h11_max_incomplete_event_size=max_header_bytes,
    )


#: ``serve`` options that configure uvicorn (the rest go to ``create_app``)
SERVER_OPTIONS = ("limit_concurrency", "backlog", "timeout_keep_alive", "header_timeout", "max_header_bytes")


def serve(
    models: dict[str, OnnxModel],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Run the server with uvicorn until interrupted. ``options`` named in ``SERVER_OPTIONS`` go to
    ``uvicorn_config``, the others to ``create_app`` (see the module docstring for all limits and defaults)."""
    import uvicorn

    server_options = {k: options.pop(k) for k in SERVER_OPTIONS if k in options}
    app = create_app(models, **options)
    uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level=log_level, **server_options)).run()


def model_names(paths: Sequence[str]) -> dict[str, str]:
    """``NAME=PATH`` or ``PATH`` arguments -> {name: path}; a bare path is named after its file or folder."""
    from pathlib import Path

    named: dict[str, str] = {}
    for arg in paths:
        name, sep, path = arg.partition("=")
        if not sep:
            p = Path(arg)
            name, path = (p.stem if p.suffix == ".onnx" else p.name), arg
        if name in named:
            raise ValueError(f"two models are named {name!r}: give one a name with NAME=PATH")
        named[name] = path
    return named
