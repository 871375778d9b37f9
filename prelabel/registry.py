"""Model registry for pre-labeling, shaped like torchvision's.

``register_model`` puts a small builder function under a name, ``get_model`` builds a
fresh model by name and ``list_models`` lists the names, optionally for one task. See
https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection
for the torchvision models behind the names registered here.

Importing this module does not import torch or torchvision: every builder imports them
when it runs, so the web process can list architectures without paying for torch.

No weights are ever downloaded: builders pass ``weights=None, weights_backbone=None`` and
``get_model`` loads an optional local weights file instead.

Exceptions::

    KeyError
     └── UnknownModelError    no model is registered under that name
    ValueError
     └── ModelFileError       a model or weights file is unreadable or doesn't fit
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

__all__ = [
    "CLASSIFICATION",
    "DETECTION",
    "ModelEntry",
    "ModelFileError",
    "UnknownModelError",
    "get_model",
    "get_model_task",
    "list_models",
    "load_state_dict_file",
    "read_torch_file",
    "register_model",
    "state_dict_from",
]

DETECTION = "detection"
CLASSIFICATION = "classification"

Builder = TypeVar("Builder", bound=Callable[..., Any])


class UnknownModelError(KeyError):
    """No model is registered under the requested name; the message lists known names."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        # KeyError's own __str__ would repr() the whole message.
        known = ", ".join(self.known) or "(none)"
        return f"unknown model {self.name!r}; known models: {known}"


class ModelFileError(ValueError):
    """A model or weights file is unreadable, of an unknown kind, or doesn't fit the model.

    The message always names the file.
    """


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its name, its task and the function that builds it."""

    name: str
    task: str
    builder: Callable[..., Any]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, task: str = DETECTION) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name``.

    The builder is called as ``builder(num_classes=..., **kwargs)`` and must return a
    ``torch.nn.Module`` with random (or no) initial weights; it must import torch and
    torchvision inside its body so that importing the registry stays cheap.

    Args:
        name: Unique model name, e.g. ``"fasterrcnn_mobilenet_v3_large_320_fpn"``.
        task: What the model does: ``"detection"`` or ``"classification"``.

    Returns:
        A decorator that registers the builder and returns it unchanged.

    Raises:
        ValueError: if ``name`` is already registered.
    """

    def decorator(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(name=name, task=task, builder=builder)
        return builder

    return decorator


def list_models(task: str | None = None) -> list[str]:
    """Return the registered model names, sorted.

    Args:
        task: Only list models of this task (``"detection"``, ``"classification"``);
            ``None`` lists all of them.

    Returns:
        Sorted list of names.
    """
    return sorted(name for name, entry in _REGISTRY.items() if task is None or entry.task == task)


def _entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(name, list_models()) from None


def get_model_task(name: str) -> str:
    """Return the task (``"detection"`` or ``"classification"``) of a registered model.

    Raises:
        UnknownModelError: if ``name`` is not registered.
    """
    return _entry(name).task


def get_model(
    name: str,
    *,
    num_classes: int,
    weights_path: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> torch.nn.Module:
    """Build a registered model, optionally loading weights from a local file.

    See https://docs.pytorch.org/vision/stable/models.html#object-detection-instance-segmentation-and-person-keypoint-detection

    Args:
        name: Registered model name (see ``list_models``).
        num_classes: Number of output classes as torchvision counts them: for detectors
            this *includes* the background class (number of labels + 1); for classifiers
            it is the number of labels.
        weights_path: Optional local file with a state dict (``torch.save(model.state_dict())``),
            an ``annotate-detector/1`` file, or a torchvision reference-script checkpoint
            (``{"model": state_dict, ...}``). Loaded strictly onto the CPU.
        **kwargs: Passed to the torchvision builder, e.g. ``min_size=320, max_size=640``
            (pixels) for Faster R-CNN.

    Returns:
        The model, on the CPU, in training mode (as torchvision builds it).

    Raises:
        UnknownModelError: if ``name`` is not registered.
        ModelFileError: if ``weights_path`` can't be read or doesn't fit the model.
    """
    model = _entry(name).builder(num_classes=num_classes, **kwargs)
    if weights_path is not None:
        state_dict = load_state_dict_file(weights_path)
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as exc:
            raise ModelFileError(
                f"{os.fspath(weights_path)}: weights don't fit {name!r} with num_classes={num_classes}: {_first_line(exc)}"
            ) from exc
    return model


def load_state_dict_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict from a local file without running pickled code.

    Accepts a plain state dict, an ``annotate-detector/1`` file (its ``"state_dict"``)
    and a torchvision reference-script checkpoint (its ``"model"``). Uses
    ``torch.load(..., weights_only=True)`` so an uploaded file can't execute code.

    Args:
        path: Local file path.

    Returns:
        Mapping of parameter name to CPU tensor.

    Raises:
        ModelFileError: if the file is missing, unreadable, or holds no state dict.
    """
    payload = read_torch_file(path)
    state_dict = state_dict_from(payload)
    if state_dict is None:
        raise ModelFileError(f"{os.fspath(path)}: file holds no state dict (a mapping of names to tensors)")
    return state_dict


def read_torch_file(path: str | os.PathLike[str]) -> Any:
    """``torch.load`` a local file onto the CPU with ``weights_only=True``.

    Raises:
        ModelFileError: if the file is missing or is not a loadable torch file.
    """
    import torch

    if not os.path.isfile(path):
        raise ModelFileError(f"{os.fspath(path)}: no such model file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for bad files
        raise ModelFileError(f"{os.fspath(path)}: not a readable torch weights file: {_first_line(exc)}") from exc


def state_dict_from(payload: Any) -> dict[str, torch.Tensor] | None:
    """Return the state dict held by a loaded payload, or ``None`` if it holds none.

    Recognizes a plain state dict, ``{"state_dict": ...}`` and ``{"model": ...}``.
    """
    import torch

    def is_state_dict(obj: Any) -> bool:
        return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())

    if is_state_dict(payload):
        return dict(payload)
    if isinstance(payload, Mapping):
        for key in ("state_dict", "model"):
            if is_state_dict(payload.get(key)):
                return dict(payload[key])
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# Builders. Each imports torchvision when called; see the module docstring.


@register_model("fasterrcnn_mobilenet_v3_large_320_fpn", task=DETECTION)
def _fasterrcnn_mobilenet_v3_large_320_fpn(*, num_classes: int, **kwargs: Any) -> torch.nn.Module:
    """Faster R-CNN, MobileNetV3-Large FPN backbone, low-resolution defaults (min_size=320)."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    return fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)


@register_model("ssdlite320_mobilenet_v3_large", task=DETECTION)
def _ssdlite320_mobilenet_v3_large(
    *,
    num_classes: int,
    min_size: int | None = None,
    max_size: int | None = None,
    **kwargs: Any,
) -> torch.nn.Module:
    """SSDlite, MobileNetV3-Large backbone.

    SSDlite resizes every image to a fixed 320x320, so ``min_size``/``max_size`` are
    accepted for the same call shape as Faster R-CNN and ignored.
    """
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    del min_size, max_size
    return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)


@register_model("resnet18", task=CLASSIFICATION)
def _resnet18(*, num_classes: int, **kwargs: Any) -> torch.nn.Module:
    """ResNet-18 image classifier."""
    from torchvision.models import resnet18

    return resnet18(weights=None, num_classes=num_classes, **kwargs)


@register_model("mobilenet_v3_small", task=CLASSIFICATION)
def _mobilenet_v3_small(*, num_classes: int, **kwargs: Any) -> torch.nn.Module:
    """MobileNetV3-Small image classifier."""
    from torchvision.models import mobilenet_v3_small

    return mobilenet_v3_small(weights=None, num_classes=num_classes, **kwargs)
