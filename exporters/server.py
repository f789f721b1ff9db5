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

Requests from all clients go through one ``DynamicBatcher`` per model: they are concatenated into one ONNX Runtime
call (up to ``max_batch_size`` samples, waiting at most ``max_queue_delay`` for company) and each caller gets its
own slice back. Translators are batched the same way: their images have one fixed shape, so concurrent requests'
images are concatenated like latents. Like ``runtime.py`` this module imports no torch.

Why this module is long: it is the whole server (the protocol's JSON and binary codecs, the batcher, the routes
for generators and translators, the image upload); the codecs could move to a module of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import json
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
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


def parse_request(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    """Split a request into its JSON header and the binary tail (empty for pure-JSON requests)."""
    try:
        if header_length is not None:
            n = int(header_length)
            if not 0 < n <= len(body):
                raise ValueError(f"{HEADER_LENGTH} {n} outside the body's {len(body)} bytes")
            head, tail = body[:n], body[n:]
        else:
            head, tail = body, b""
        request = json.loads(head)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InferenceError(f"malformed request: {exc}") from exc
    if not isinstance(request, dict) or not isinstance(request.get("inputs", []), list):
        raise InferenceError("malformed request: expected a JSON object with an 'inputs' list")
    return request, tail


def decode_inputs(request: dict[str, Any], tail: bytes) -> dict[str, np.ndarray]:
    """The request's input tensors as numpy arrays, from JSON ``data`` or from the binary tail."""
    tensors, offset = {}, 0
    for spec in request.get("inputs", []):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise InferenceError("each input needs a 'name', 'shape', 'datatype' and 'data'")
        name, shape, dtype_name = spec["name"], spec.get("shape"), spec.get("datatype")
        if dtype_name not in DATATYPES:
            raise InferenceError(f"input {name!r}: unsupported datatype {dtype_name!r}; use one of {list(DATATYPES)}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise InferenceError(f"input {name!r}: 'shape' must be a list of non-negative integers, got {shape!r}")
        dtype = np.dtype(DATATYPES[dtype_name]).newbyteorder("<")
        size = (spec.get("parameters") or {}).get("binary_data_size")
        try:
            if size is not None:
                if offset + size > len(tail):
                    raise InferenceError(f"input {name!r}: binary_data_size {size} runs past the request body")
                array = np.frombuffer(tail, dtype=dtype, count=size // dtype.itemsize, offset=offset)
                offset += size
            elif "data" in spec:
                array = np.asarray(spec["data"], dtype=dtype)
            else:
                raise InferenceError(f"input {name!r} has neither 'data' nor a binary_data_size parameter")
            tensors[name] = array.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
        except (ValueError, TypeError) as exc:
            raise InferenceError(f"input {name!r}: data does not fit shape {shape} of {dtype_name} ({exc})") from exc
    return tensors


def encode_response(model: str, request: dict[str, Any], name: str, array: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """The response body and headers: JSON data, or binary when the client asked for it (as tritonclient does)."""
    wanted = request.get("outputs")
    params = request.get("parameters") or {}
    binary = bool(params.get("binary_data_output", False))
    if isinstance(wanted, list) and wanted:
        names = [o.get("name") for o in wanted if isinstance(o, dict)]
        if name not in names:
            raise InferenceError(f"model {model!r} has one output, {name!r}; requested {names}")
        spec = next(o for o in wanted if o.get("name") == name)
        binary = bool((spec.get("parameters") or {}).get("binary_data", binary))
    output: dict[str, Any] = {"name": name, "datatype": datatype(array), "shape": list(array.shape)}
    response: dict[str, Any] = {"model_name": model, "model_version": VERSION, "outputs": [output]}
    if "id" in request:
        response["id"] = request["id"]
    if not binary:
        output["data"] = array.ravel().tolist()
        return json.dumps(response).encode(), {"content-type": "application/json"}
    raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    output["parameters"] = {"binary_data_size": len(raw)}
    head = json.dumps(response).encode()
    return head + raw, {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}


# -- the app ------------------------------------------------------------------------------------------------


@dataclass
class ServedModel:
    """One model (an ``OnnxGenerator`` or an ``OnnxTranslator``) behind the server."""

    name: str
    model: OnnxModel
    batcher: DynamicBatcher

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
            "parameters": {k: v for k, v in m.metadata.items() if k.startswith("ganzoo.")},
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
) -> Starlette:
    """The ASGI app serving ``models`` (name -> ``OnnxGenerator`` or ``OnnxTranslator``, e.g. from
    ``open_model``); run it with uvicorn (``ganzoo serve`` does).

    ``max_samples`` bounds one request's batch (samples or images); ``max_upload_bytes`` and ``max_image_pixels``
    bound an image uploaded to ``translate.png`` (larger ones get a 413).
    """
    if not models:
        raise ValueError("serve at least one model")
    if max_batch_size < 1 or max_samples < 1 or max_queue_delay < 0:
        raise ValueError("max_batch_size and max_samples must be positive and max_queue_delay non-negative")
    served = {
        name: ServedModel(name, g, DynamicBatcher(g, max_batch_size, max_queue_delay)) for name, g in models.items()
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

    async def infer(request: Request) -> Response:
        model = model_of(request)
        body, tail = parse_request(await request.body(), request.headers.get(HEADER_LENGTH))
        tensors = decode_inputs(body, tail)
        if isinstance(model.model, OnnxTranslator):
            out = await translate_tensors(model, tensors)
        else:
            out = await generate_tensors(model, tensors, body)
        payload, headers = encode_response(model.name, body, model.model.output_name, out)
        return Response(payload, headers=headers)

    async def generate_tensors(model: ServedModel, tensors: dict[str, np.ndarray], body: dict) -> np.ndarray:
        g = model.model
        assert isinstance(g, OnnxGenerator)
        expected = set(g.inputs)
        if set(tensors) != expected:
            # ganzoo extension: no inputs at all, but parameters {"n": ..., "seed": ...} draw the latents here
            params = body.get("parameters") or {}
            if not tensors and "n" in params and "labels" not in expected:
                tensors = {"z": _seeded(g, params)}
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
        from PIL import Image

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
        z = _seeded(model.model, dict(request.query_params))
        labels = None
        if "labels" in model.model.inputs:  # class-conditional: ?label=K, or one class after another
            spec = model.model.label_spec
            high = int(spec.value_range[1]) if spec and spec.value_range else 0
            try:
                label = request.query_params.get("label")
                labels = np.full(len(z), int(label)) if label else np.arange(len(z)) % (high + 1)
                labels = model.model.check_labels(labels, len(z))
            except ValueError as exc:
                raise InferenceError(f"label: {exc}") from exc
        out = await generate(model, z, labels, _seeded_codes(model.model, len(z), dict(request.query_params)))
        images = out if model.model.uint8_output else to_uint8_nhwc(out)
        grid = make_grid(images)
        buffer = io.BytesIO()
        Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

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
        body = await read_limited(request, max_upload_bytes)
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
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if isinstance(exc, HTTPException):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for model in served.values():
            model.batcher.start()
        yield
        for model in served.values():
            await model.batcher.stop()

    model_routes: list[Route] = []
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        model_routes += [
            Route(prefix, model_metadata),
            Route(prefix + "/ready", model_ready),
            Route(prefix + "/infer", infer, methods=["POST"]),
            Route(prefix + "/translate.png", translate_png, methods=["POST"]),
        ]
    routes = [
        Route("/", index),
        Route("/v2", server_metadata),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        *model_routes,
        Route("/sample/{name}.png", sample_png),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={InferenceError: on_error, HTTPException: on_error, Exception: on_error},
    )
    app.state.models = served
    return app


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one over ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InferenceError(f"the upload is {int(declared)} bytes; this server accepts at most {limit}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InferenceError(f"the upload is over {limit} bytes, the most this server accepts", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise InferenceError("the request body is empty: POST the PNG or JPEG file itself (curl --data-binary @in.png)")
    return body


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


def _seeded_codes(generator: OnnxGenerator, n: int, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """InfoGAN-style codes for a seeded request: drawn from the seed as ``Generator.sample`` draws them."""
    try:
        seed = None if params.get("seed") in (None, "") else int(params["seed"])
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"'seed' must be an integer ({exc})") from exc
    return draw_codes(generator.input_specs, n, seed)


def _seeded(generator: OnnxGenerator, params: dict[str, Any]) -> np.ndarray:
    """Latents for the ``n``/``seed`` parameters (query string or request parameters)."""
    from ganzoo.sampling import latents

    try:
        n = int(params.get("n", 16))
        seed = None if params.get("seed") in (None, "") else int(params["seed"])
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"'n' and 'seed' must be integers ({exc})") from exc
    if n <= 0:
        raise InferenceError(f"n must be positive, got {n}")
    return latents(n, generator.z_dim, seed)


def serve(
    models: dict[str, OnnxModel],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Run the server with uvicorn until interrupted (``options`` go to ``create_app``)."""
    import uvicorn

    uvicorn.run(create_app(models, **options), host=host, port=port, log_level=log_level)


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
