"""Train, save, load and run object detectors for pre-labeling.

Only job code imports this module (it imports torch at the top); the web process talks to
it through the job queue. Coordinates are image pixels throughout: boxes come in and go
out in COCO ``[x, y, w, h]``; torchvision's ``[x1, y1, x2, y2]`` and 1-based labels (0 is
background) stay inside this module. See
https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection

Model files ``load_detector`` reads:

* ``annotate-detector/1``: what ``save_model_file`` writes, a dict with the architecture,
  label names, input sizes and state dict;
* a plain torchvision state dict (``torch.save(model.state_dict())``) or a reference-script
  checkpoint (``{"model": state_dict}``), given ``architecture`` and ``label_names``;
* a TorchScript file whose forward takes ``List[Tensor]`` (CHW float in [0, 1]) and
  returns torchvision's detection output (a scripted torchvision detector's
  ``(losses, detections)`` tuple is accepted too), given ``label_names``.

Exceptions::

    KeyError
     └── UnknownModelError    unknown architecture name (from prelabel.registry)
    ValueError
     └── ModelFileError       a model file is unreadable, of an unknown kind, or doesn't fit
    Exception
     └── TrainingCancelled    should_stop() returned True during training
    FloatingPointError        training loss became NaN or infinite (lower the lr)
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torchvision.ops import batched_nms, box_convert, clip_boxes_to_image

from prelabel.predictions import Detection
from prelabel.registry import (
    DETECTION,
    ModelFileError,
    UnknownModelError,
    get_model,
    get_model_task,
    list_models,
    read_torch_file,
    state_dict_from,
)

__all__ = [
    "FORMAT",
    "Detection",
    "LoadedDetector",
    "ModelFileError",
    "TrainResult",
    "TrainSample",
    "TrainingCancelled",
    "UnknownModelError",
    "load_detector",
    "save_model_file",
    "train_detector",
]

FORMAT = "annotate-detector/1"
DEFAULT_ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_320_fpn"

# Inference-only builder arguments that let predict()'s score_threshold govern: Faster
# R-CNN otherwise drops boxes under 0.05 itself. SSDlite's own default is already 0.001.
_INFERENCE_KWARGS: dict[str, dict[str, Any]] = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": {"box_score_thresh": 0.001},
}

ProgressCallback = Callable[[float, str], None]
StopCallback = Callable[[], bool]
PathLike = str | os.PathLike[str]


class TrainingCancelled(Exception):
    """``should_stop()`` returned True; training stopped before the next batch."""


@dataclass
class TrainSample:
    """One training image with its boxes.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB array.
        boxes: COCO ``(x, y, w, h)`` boxes in image pixels, one per label.
        labels: 0-based indices into the ``label_names`` passed to ``train_detector``.
    """

    image: np.ndarray
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)


@dataclass
class TrainResult:
    """What ``train_detector`` returns; ``save_model_file`` writes it.

    Attributes:
        state_dict: Trained weights, CPU tensors.
        architecture: Registered model name (see ``prelabel.registry.list_models``).
        label_names: Names of the labels, in label-index order (background not included).
        losses: Mean training loss of each epoch, in order.
        device: Device trained on, e.g. ``"cpu"`` or ``"cuda"``.
        min_size: Shorter image side the model resizes to, pixels.
        max_size: Upper bound on the longer image side after resizing, pixels.
    """

    state_dict: dict[str, torch.Tensor]
    architecture: str
    label_names: list[str]
    losses: list[float]
    device: str
    min_size: int = 320
    max_size: int = 640


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB (or ``(H, W)`` gray, ``(H, W, 4)`` RGBA) -> ``(3, H, W)`` float in [0, 1]."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {array.dtype}")
    array = np.ascontiguousarray(array[:, :, :3])
    if not array.flags.writeable:
        # Pillow's arrays are read-only views, which torch.from_numpy refuses with a warning.
        array = array.copy()
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)


def _sample_target(sample: TrainSample, index: int, num_labels: int) -> dict[str, torch.Tensor]:
    """Convert one sample's COCO boxes and 0-based labels to a torchvision target.

    Boxes are clipped to the image; those left narrower or shorter than 1 pixel are dropped
    because torchvision rejects degenerate boxes and one bad annotation shouldn't fail a job.
    """
    if len(sample.boxes) != len(sample.labels):
        raise ValueError(f"sample {index}: {len(sample.boxes)} boxes but {len(sample.labels)} labels")
    height, width = np.asarray(sample.image).shape[:2]
    boxes = torch.tensor(sample.boxes, dtype=torch.float32).reshape(-1, 4)
    labels = torch.tensor(sample.labels, dtype=torch.int64).reshape(-1)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_labels):
        raise ValueError(f"sample {index}: label index out of range 0..{num_labels - 1}: {sample.labels}")
    boxes = clip_boxes_to_image(box_convert(boxes, "xywh", "xyxy"), (height, width))
    keep = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
    return {
        "boxes": boxes[keep],
        "labels": labels[keep] + 1,
    }  # torchvision: 0 is background


def _hflip(image: torch.Tensor, target: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    width = image.shape[-1]
    boxes = target["boxes"].clone()
    boxes[:, [0, 2]] = width - target["boxes"][:, [2, 0]]
    return image.flip(-1), {"boxes": boxes, "labels": target["labels"]}


def _load_init_weights(model: torch.nn.Module, path: PathLike) -> None:
    """Load every tensor of ``path`` whose name and shape fit ``model``.

    Tensors that don't fit (the class-specific head, when the label set changed) keep
    their fresh initialization, so a model can be fine-tuned on a grown label set.
    """
    state_dict = state_dict_from(read_torch_file(path))
    if state_dict is None:
        raise ModelFileError(f"{os.fspath(path)}: file holds no state dict to initialize from")
    own = model.state_dict()
    fitting = {k: v for k, v in state_dict.items() if k in own and own[k].shape == v.shape}
    if len(fitting) < len(own) // 2:
        raise ModelFileError(
            f"{os.fspath(path)}: only {len(fitting)} of {len(own)} tensors fit the architecture; was it trained with a different one?"
        )
    model.load_state_dict(fitting, strict=False)


def train_detector(
    samples: Sequence[TrainSample],
    label_names: Sequence[str],
    *,
    architecture: str = DEFAULT_ARCHITECTURE,
    epochs: int = 10,
    batch_size: int = 2,
    lr: float = 0.01,
    seed: int = 0,
    device: str | torch.device | None = None,
    init_weights: PathLike | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    min_size: int = 320,
    max_size: int = 640,
    resume_state: Mapping[str, Any] | None = None,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a torchvision detector on labeled images.

    SGD with momentum 0.9 and weight decay 1e-4, a linear learning-rate warm-up over the
    first epoch, gradient-norm clipping at 10, random horizontal flips. Runs on CUDA when
    available unless ``device`` says otherwise. With the same seed and device, two runs
    give the same weights (on CUDA, up to cuDNN's non-deterministic kernels).
    See https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection

    Args:
        samples: Training images; images with no boxes are allowed (negatives).
        label_names: Label names; ``TrainSample.labels`` index into this list.
        architecture: A registered detection model name (``list_models("detection")``).
        epochs: Passes over ``samples``.
        batch_size: Images per optimizer step.
        lr: Peak learning rate.
        seed: Seed for torch, numpy and random (weights init, shuffling, flips).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks CUDA when available.
        init_weights: Optional local weights file (any kind ``load_detector`` reads except
            TorchScript) to start from; tensors whose shapes don't fit are left fresh.
        progress: Called after each epoch as ``progress(fraction_done, message)``.
        should_stop: Called before each batch; returning True cancels training.
        min_size: Shorter image side the model resizes to, pixels (Faster R-CNN only;
            SSDlite always uses 320x320).
        max_size: Upper bound on the longer side after resizing, pixels.
        resume_state: A state that ``on_epoch_end`` handed out earlier (``epoch``, ``model``,
            ``optimizer``, ``scheduler``, ``losses``): training goes on from there with the
            same optimizer momentum, learning-rate schedule and shuffling as an unbroken run.
        on_epoch_end: Called after each epoch as ``on_epoch_end(epochs_done, state)`` with
            such a state (CPU tensors), e.g. to write a checkpoint.

    Returns:
        A ``TrainResult`` with CPU weights and the mean loss of each epoch.

    Raises:
        ValueError: empty ``samples`` or ``label_names``, a malformed sample, a
            non-detection architecture, or epochs/batch_size < 1.
        UnknownModelError: ``architecture`` isn't registered.
        ModelFileError: ``init_weights`` can't be read or doesn't fit.
        TrainingCancelled: ``should_stop()`` returned True.
        FloatingPointError: the loss became NaN or infinite.
    """
    if not samples:
        raise ValueError("no training samples")
    if not label_names:
        raise ValueError("no label names")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    if get_model_task(architecture) != DETECTION:
        raise ValueError(f"{architecture!r} is not a detection model; choose one of {list_models(DETECTION)}")

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    target_device = _resolve_device(device)

    images = [_image_to_tensor(s.image) for s in samples]
    targets = [_sample_target(s, i, len(label_names)) for i, s in enumerate(samples)]

    model = get_model(
        architecture,
        num_classes=len(label_names) + 1,
        min_size=min_size,
        max_size=max_size,
    )
    if init_weights is not None:
        _load_init_weights(model, init_weights)
    model.to(target_device).train()

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(samples) / batch_size)
    # Warm-up keeps the randomly initialized heads from diverging on the first steps.
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=steps_per_epoch)

    losses: list[float] = []
    start_epoch = 0
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        losses = [float(v) for v in resume_state["losses"]]
        start_epoch = int(resume_state["epoch"])
    for epoch in range(epochs):
        order = rng.permutation(len(samples))
        flips = rng.random(len(samples)) < 0.5
        if epoch < start_epoch:  # drawn anyway, so a resumed run shuffles like an unbroken one
            continue
        epoch_loss = 0.0
        for start in range(0, len(order), batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"training cancelled in epoch {epoch + 1}/{epochs}")
            batch_images, batch_targets = [], []
            for i in order[start : start + batch_size]:
                image, target = images[i], targets[i]
                if flips[i]:
                    image, target = _hflip(image, target)
                batch_images.append(image.to(target_device))
                batch_targets.append({k: v.to(target_device) for k, v in target.items()})
            loss_dict = model(batch_images, batch_targets)
            loss = sum(loss_dict.values())
            loss_value = loss.detach().item()
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"loss became {loss_value} in epoch {epoch + 1}; try a lower lr than {lr}")
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm=10.0)
            optimizer.step()
            scheduler.step()
            epoch_loss += loss_value
        losses.append(epoch_loss / steps_per_epoch)
        if on_epoch_end is not None:
            on_epoch_end(
                epoch + 1,
                {
                    "epoch": epoch + 1,
                    "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                    "optimizer": _to_cpu(optimizer.state_dict()),
                    "scheduler": scheduler.state_dict(),
                    "losses": list(losses),
                },
            )
        if progress is not None:
            progress(
                (epoch + 1) / epochs,
                f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}",
            )

    return TrainResult(
        state_dict={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        architecture=architecture,
        label_names=list(label_names),
        losses=losses,
        device=str(target_device),
        min_size=min_size,
        max_size=max_size,
    )


def _to_cpu(value: Any) -> Any:
    """Copy every tensor inside nested dicts and lists to the CPU (optimizer state for a checkpoint)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(v) for v in value)
    return value


def save_model_file(path: PathLike, result_or_fields: TrainResult | Mapping[str, Any]) -> None:
    """Write an ``annotate-detector/1`` model file.

    The file is ``torch.save({"format", "architecture", "label_names", "state_dict",
    "min_size", "max_size"})`` and holds only tensors, strings and numbers, so
    ``torch.load(..., weights_only=True)`` reads it. It is written to a temporary file in
    the same folder and renamed, so readers never see half a file.

    Args:
        path: Destination file.
        result_or_fields: A ``TrainResult``, or a mapping with ``architecture``,
            ``label_names``, ``state_dict`` and optionally ``min_size``/``max_size`` (pixels;
            default 320/640).

    Raises:
        ValueError: a required field is missing.
    """
    if isinstance(result_or_fields, TrainResult):
        fields: Mapping[str, Any] = vars(result_or_fields)
    else:
        fields = result_or_fields
    missing = [k for k in ("architecture", "label_names", "state_dict") if k not in fields]
    if missing:
        raise ValueError(f"cannot save model file: missing {', '.join(missing)}")
    payload = {
        "format": FORMAT,
        "architecture": str(fields["architecture"]),
        "label_names": [str(name) for name in fields["label_names"]],
        "state_dict": {k: v.detach().cpu() for k, v in fields["state_dict"].items()},
        "min_size": int(fields.get("min_size", 320)),
        "max_size": int(fields.get("max_size", 640)),
    }
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise


class LoadedDetector:
    """A detector ready for inference, as ``load_detector`` returns it.

    Attributes:
        model: The ``torch.nn.Module`` or TorchScript module, in eval mode, on ``device``.
        label_names: Label names; ``Detection.label_index`` indexes this list.
        architecture: Registered model name, or ``"torchscript"``.
        device: Device the model runs on.
        path: File the model was loaded from.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        label_names: Sequence[str],
        *,
        architecture: str,
        device: torch.device,
        path: str,
    ) -> None:
        self.model = model
        self.label_names = list(label_names)
        self.architecture = architecture
        self.device = device
        self.path = path

    def __repr__(self) -> str:
        return (
            f"LoadedDetector(architecture={self.architecture!r}, labels={len(self.label_names)}, "
            f"device={str(self.device)!r}, path={self.path!r})"
        )

    def _forward(self, batch: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        with warnings.catch_warnings():
            # A scripted torchvision detector warns on every first call that it returns a
            # (losses, detections) tuple; we expect and unpack exactly that.
            warnings.filterwarnings("ignore", message=r".*always returns a \(Losses, Detections\) tuple")
            output = self.model(batch)
        if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], list):
            output = output[1]
        if not isinstance(output, list) or len(output) != len(batch):
            raise ModelFileError(
                f"{self.path}: model output is not a list of {len(batch)} detection dicts (torchvision's detection output convention)"
            )
        return output

    def predict(
        self,
        images: Sequence[np.ndarray],
        *,
        score_threshold: float = 0.5,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        batch_size: int = 8,
    ) -> list[list[Detection]]:
        """Detect objects in images.

        Runs the model under ``torch.inference_mode()`` in batches, keeps detections
        scoring at least ``score_threshold``, applies class-wise NMS
        (``torchvision.ops.batched_nms``) on top of the model's own, clips boxes to the
        image and drops those left empty.
        See https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection

        Args:
            images: ``(H, W, 3)`` uint8 RGB arrays (any sizes; ``(H, W)`` gray and
                ``(H, W, 4)`` RGBA are converted).
            score_threshold: Minimum score kept, in [0, 1].
            nms_iou: IoU above which a lower-scoring box of the same label is dropped.
            max_detections: Most detections returned per image, highest scores first.
            batch_size: Images per forward pass.

        Returns:
            One list per image of ``Detection`` sorted by decreasing score, with COCO
            ``(x, y, w, h)`` boxes in that image's pixels.

        Raises:
            ValueError: an image isn't a uint8 ``(H, W, 3)`` array.
            ModelFileError: the model's output doesn't follow torchvision's convention or
                has labels outside ``label_names``.
        """
        tensors = [_image_to_tensor(image) for image in images]
        results: list[list[Detection]] = []
        with torch.inference_mode():
            for start in range(0, len(tensors), batch_size):
                batch = [t.to(self.device) for t in tensors[start : start + batch_size]]
                for image, output in zip(batch, self._forward(batch), strict=True):
                    results.append(
                        self._postprocess(
                            output,
                            image.shape[-2:],
                            score_threshold,
                            nms_iou,
                            max_detections,
                        )
                    )
        return results

    def _postprocess(
        self,
        output: Mapping[str, torch.Tensor],
        size: torch.Size,
        score_threshold: float,
        nms_iou: float,
        max_detections: int,
    ) -> list[Detection]:
        try:
            boxes = output["boxes"].float().reshape(-1, 4)
            labels = output["labels"].long().reshape(-1)
            scores = output["scores"].float().reshape(-1)
        except (KeyError, TypeError, RuntimeError) as exc:
            raise ModelFileError(f"{self.path}: model output lacks boxes/labels/scores: {exc}") from exc
        keep = scores >= score_threshold
        boxes, labels, scores = boxes[keep], labels[keep], scores[keep]
        if labels.numel() and (labels.min() < 1 or labels.max() > len(self.label_names)):
            raise ModelFileError(
                f"{self.path}: model predicted label {int(labels.max())} but only "
                f"{len(self.label_names)} label names were given (labels are 1-based)"
            )
        boxes = clip_boxes_to_image(boxes, (int(size[0]), int(size[1])))
        nonempty = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, labels, scores = boxes[nonempty], labels[nonempty], scores[nonempty]
        order = batched_nms(boxes, scores, labels, nms_iou)[:max_detections]
        xywh = box_convert(boxes[order], "xyxy", "xywh").cpu().tolist()
        return [
            Detection(label_index=label - 1, bbox=(x, y, w, h), score=score)
            for (x, y, w, h), label, score in zip(
                xywh,
                labels[order].cpu().tolist(),
                scores[order].cpu().tolist(),
                strict=True,
            )
        ]


def _is_torchscript(path: PathLike) -> bool:
    # torch.jit.save archives carry constants.pkl; torch.save archives never do.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _classes_in(state_dict: Mapping[str, torch.Tensor]) -> int | None:
    """Number of classes (background included) a Faster R-CNN state dict was trained for."""
    weight = state_dict.get("roi_heads.box_predictor.cls_score.weight")
    return int(weight.shape[0]) if weight is not None else None


def load_detector(
    path: PathLike,
    *,
    architecture: str | None = None,
    label_names: Sequence[str] | None = None,
    device: str | torch.device | None = None,
) -> LoadedDetector:
    """Load a detector from a local file for ``LoadedDetector.predict``.

    Reads the three kinds of file listed in the module docstring. State dicts are read
    with ``torch.load(..., weights_only=True)``, so they can't run code. TorchScript files
    are loaded with ``torch.jit.load`` (deprecated by torch in favour of ``torch.export``;
    its deprecation warning is silenced here) and do run their own TorchScript code.
    See https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection

    Args:
        path: Local model file.
        architecture: Registered detection model name; required for a plain state dict,
            checked against an ``annotate-detector/1`` file if given, ignored for TorchScript.
        label_names: Label names in label-index order (background not included); required
            for a plain state dict and TorchScript, checked against an
            ``annotate-detector/1`` file if given.
        device: ``"cpu"``, ``"cuda"``...; ``None`` picks CUDA when available.

    Returns:
        A ``LoadedDetector`` in eval mode on the device.

    Raises:
        ModelFileError: the file is missing or none of the three kinds, an argument it
            needs is missing or disagrees with the file, or the label count doesn't match
            the weights. The message names the file.
    """
    name = os.fspath(path)
    target_device = _resolve_device(device)
    if not os.path.isfile(name):
        raise ModelFileError(f"{name}: no such model file")

    if _is_torchscript(name):
        if not label_names:
            raise ModelFileError(f"{name}: is a TorchScript model; pass label_names=")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore",
                    message=r"`torch\.jit\.load` is deprecated",
                    category=FutureWarning,
                )
                scripted = torch.jit.load(name, map_location=target_device)
        except Exception as exc:
            raise ModelFileError(f"{name}: cannot load TorchScript model: {exc}") from exc
        scripted.eval()
        return LoadedDetector(
            scripted,
            label_names,
            architecture="torchscript",
            device=target_device,
            path=name,
        )

    payload = read_torch_file(name)
    sizes: dict[str, int] = {}
    if isinstance(payload, Mapping) and "format" in payload:
        if payload["format"] != FORMAT:
            raise ModelFileError(f"{name}: unsupported model format {payload['format']!r}; expected {FORMAT!r}")
        if architecture is not None and architecture != payload["architecture"]:
            raise ModelFileError(f"{name}: file holds a {payload['architecture']!r} model, not {architecture!r}")
        if label_names is not None and list(label_names) != list(payload["label_names"]):
            raise ModelFileError(f"{name}: file was trained for labels {payload['label_names']}, not {list(label_names)}")
        architecture = payload["architecture"]
        label_names = list(payload["label_names"])
        sizes = {
            "min_size": int(payload["min_size"]),
            "max_size": int(payload["max_size"]),
        }
        state_dict = state_dict_from(payload)
    else:
        state_dict = state_dict_from(payload)
        if state_dict is None:
            raise ModelFileError(f"{name}: not a detector file ({FORMAT}, torchvision state dict or TorchScript)")
        if architecture is None or not label_names:
            raise ModelFileError(f"{name}: is a plain state dict; pass architecture= and label_names=")

    if state_dict is None:
        raise ModelFileError(f"{name}: file holds no state dict")
    try:
        if get_model_task(architecture) != DETECTION:
            raise ModelFileError(f"{name}: {architecture!r} is not a detection model")
    except UnknownModelError as exc:
        raise ModelFileError(f"{name}: {exc}") from exc

    trained_classes = _classes_in(state_dict)
    if trained_classes is not None and trained_classes != len(label_names) + 1:
        raise ModelFileError(f"{name}: weights were trained for {trained_classes - 1} labels but {len(label_names)} label names were given")
    model = get_model(
        architecture,
        num_classes=len(label_names) + 1,
        **sizes,
        **_INFERENCE_KWARGS.get(architecture, {}),
    )
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise ModelFileError(
            f"{name}: weights don't fit {architecture!r} with {len(label_names)} labels "
            f"(wrong architecture or label count?): {' '.join(str(exc).split())[:500]}"
        ) from exc
    model.to(target_device).eval()
    return LoadedDetector(model, label_names, architecture=architecture, device=target_device, path=name)
