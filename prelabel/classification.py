"""Image classification: train a torchvision classifier on image-level tags, score it, predict.

Models come from :func:`prelabel.registry.get_model` with ``weights=None`` (``resnet18`` or
``mobilenet_v3_small``). Images are squashed to ``input_size`` x ``input_size`` pixels and
normalized with ImageNet's mean and standard deviation. Training is deterministic for a seed
on the CPU: the seed fixes the initial weights and the batch order.

Metrics (:func:`classification_metrics`) come from the confusion matrix: accuracy, and per
class precision, recall and F1 (computed by hand, no scikit-learn), plus their macro mean.

A trained classifier is stored as an ``annotate-classifier/1`` file (:func:`save_classifier`):
``torch.save`` of a dict with the state dict and what is needed to rebuild the model, readable
with ``weights_only=True``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from prelabel.registry import get_model, read_torch_file

FILE_FORMAT = "annotate-classifier/1"
ARCHITECTURES = ("resnet18", "mobilenet_v3_small")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class TrainingCancelled(Exception):
    """``should_stop`` asked the training to stop."""


@dataclass
class ClassifierResult:
    """A trained classifier and how the training went.

    Attributes:
        model: the network, in eval mode, on the CPU.
        losses: mean cross-entropy loss of each epoch.
        metrics: :func:`classification_metrics` on the held-out samples, or None without any.
    """

    model: torch.nn.Module
    architecture: str
    label_names: list[str]
    input_size: int
    losses: list[float] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    device: str = "cpu"


def to_tensor(images: Sequence[np.ndarray], input_size: int) -> torch.Tensor:
    """Turn RGB images into one normalized batch.

    Args:
        images: ``(height, width, 3)`` uint8 arrays of any size (a 2-D array is taken as gray).
        input_size: side of the square the images are resized to, pixels.

    Returns:
        A float tensor ``(n, 3, input_size, input_size)``.
    """
    out = []
    for image in images:
        array = np.asarray(image)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        tensor = torch.from_numpy(np.ascontiguousarray(array[..., :3])).permute(2, 0, 1).float().div(255.0)
        tensor = torch.nn.functional.interpolate(tensor[None], size=(input_size, input_size), mode="bilinear", align_corners=False)[0]
        out.append(tensor)
    batch = torch.stack(out)
    return (batch - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def confusion_matrix(truth: Sequence[int], predicted: Sequence[int], n_classes: int) -> list[list[int]]:
    """Count ``matrix[true class][predicted class]``.

    Raises:
        ValueError: the sequences differ in length, or a class index is outside ``[0, n_classes)``.
    """
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(truth, predicted, strict=True):
        if not (0 <= t < n_classes and 0 <= p < n_classes):
            raise ValueError(f"class index out of range 0..{n_classes - 1}: true {t}, predicted {p}")
        matrix[t][p] += 1
    return matrix


def classification_metrics(truth: Sequence[int], predicted: Sequence[int], label_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy and per-class precision, recall and F1 from the confusion matrix.

    For class c: TP = M[c][c], FP = column sum - TP, FN = row sum - TP; precision =
    TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 TP / (2 TP + FP + FN). A ratio with a zero
    denominator is 0.0 (so a class never predicted and never present has F1 0.0 and does not
    count in the macro mean: only classes with support or predictions do).

    Args:
        truth: true class indices.
        predicted: predicted class indices, same length.
        label_names: class index -> name.

    Returns:
        ``{"accuracy", "macro_f1", "per_class": {name: {"precision", "recall", "f1", "support"}},
        "confusion": matrix, "count"}``; accuracy and macro F1 are None for no samples.

    Raises:
        ValueError: see :func:`confusion_matrix`.
    """
    n = len(label_names)
    matrix = confusion_matrix(truth, predicted, n)
    total = len(truth)
    correct = sum(matrix[c][c] for c in range(n))
    per_class, f1s = {}, []
    for c, name in enumerate(label_names):
        tp = matrix[c][c]
        fp = sum(matrix[r][c] for r in range(n)) - tp
        fn = sum(matrix[c]) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
        if tp + fp + fn:
            f1s.append(f1)
    return {
        "accuracy": correct / total if total else None,
        "macro_f1": sum(f1s) / len(f1s) if f1s else None,
        "per_class": per_class,
        "confusion": matrix,
        "count": total,
    }


def _batches(n: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:  # batch norm needs two samples in training mode
        batches[-2].extend(batches.pop())
    return batches


def train_classifier(
    samples: Sequence[tuple[np.ndarray, int]],
    label_names: Sequence[str],
    architecture: str = "resnet18",
    epochs: int = 5,
    *,
    input_size: int = 224,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    seed: int = 0,
    val_samples: Sequence[tuple[np.ndarray, int]] = (),
    should_stop: Callable[[], bool] | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> ClassifierResult:
    """Train a classifier from scratch (``weights=None``) with Adam and cross-entropy.

    After the last epoch the batch-norm statistics are recomputed over the training images
    (one pass without gradients), so the model is usable in eval mode after a short training.

    Args:
        samples: ``(RGB image, class index)`` pairs to train on; at least two.
        label_names: class index -> label name; at least two classes.
        architecture: ``"resnet18"`` or ``"mobilenet_v3_small"``.
        epochs: passes over ``samples``.
        input_size: square side the images are resized to, pixels (224 by default; 64 is
            plenty for tests).
        batch_size: images per step.
        learning_rate: Adam's step size.
        seed: fixes initial weights and batch order.
        val_samples: held-out ``(image, class index)`` pairs; when given, ``metrics`` holds
            :func:`classification_metrics` on them.
        should_stop: called before every batch; True raises :class:`TrainingCancelled`.
        on_epoch_end: called with ``(epochs done, mean loss of that epoch)``.

    Returns:
        A :class:`ClassifierResult` with the model in eval mode.

    Raises:
        ValueError: fewer than two samples or classes, an unknown architecture, or a class
            index outside ``label_names``.
        TrainingCancelled: ``should_stop`` returned True.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown classifier {architecture!r}: use one of {', '.join(ARCHITECTURES)}")
    if len(label_names) < 2:
        raise ValueError("a classifier needs at least two classes")
    if len(samples) < 2:
        raise ValueError("a classifier needs at least two training images")
    bad = [label for _, label in list(samples) + list(val_samples) if not 0 <= label < len(label_names)]
    if bad:
        raise ValueError(f"class index {bad[0]} is outside 0..{len(label_names) - 1}")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = get_model(architecture, num_classes=len(label_names))
    inputs = to_tensor([image for image, _ in samples], input_size)
    targets = torch.tensor([label for _, label in samples], dtype=torch.long)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses: list[float] = []
    model.train()
    for epoch in range(epochs):
        total, seen = 0.0, 0
        for batch in _batches(len(samples), batch_size, rng):
            if should_stop is not None and should_stop():
                raise TrainingCancelled("cancelled")
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        losses.append(total / seen)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, losses[-1])
    _recompute_batch_norm(model, inputs, batch_size)
    model.eval()
    result = ClassifierResult(model, architecture, list(label_names), input_size, losses)
    if val_samples:
        predicted = [label for label, _ in _predict(model, [image for image, _ in val_samples], input_size)]
        result.metrics = classification_metrics([label for _, label in val_samples], predicted, label_names)
    return result


def _recompute_batch_norm(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int) -> None:
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms or len(inputs) < 2:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the whole pass
    model.train()
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start : start + batch_size]
            if len(chunk) > 1:
                model(chunk)
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum


def _predict(model: torch.nn.Module, images: Sequence[np.ndarray], input_size: int, batch_size: int = 16) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            probabilities = torch.softmax(model(to_tensor(images[start : start + batch_size], input_size)), dim=1)
            scores, labels = probabilities.max(dim=1)
            out.extend((int(label), float(score)) for label, score in zip(labels, scores, strict=True))
    return out


def save_classifier(path: str | os.PathLike[str], result: ClassifierResult) -> None:
    """Write an ``annotate-classifier/1`` file (``torch.save``) for :func:`load_classifier`."""
    payload = {
        "format": FILE_FORMAT, "architecture": result.architecture, "label_names": list(result.label_names),
        "input_size": int(result.input_size), "model": result.model.state_dict(),
    }  # fmt: skip
    torch.save(payload, os.fspath(path))


class Classifier:
    """A loaded classifier: ``predict(images)`` -> ``[(class index, probability), ...]``."""

    def __init__(self, model: torch.nn.Module, label_names: list[str], input_size: int) -> None:
        self.model = model.eval()
        self.label_names = label_names
        self.input_size = input_size

    def predict(self, images: Sequence[np.ndarray]) -> list[tuple[int, float]]:
        """Classify RGB images.

        Args:
            images: ``(height, width, 3)`` uint8 arrays.

        Returns:
            For each image its most probable class index and that class's softmax
            probability in [0, 1].
        """
        if not images:
            return []
        return _predict(self.model, images, self.input_size)


def load_classifier(path: str | os.PathLike[str]) -> Classifier:
    """Load an ``annotate-classifier/1`` file onto the CPU.

    Raises:
        prelabel.registry.ModelFileError: unreadable file.
        ValueError: not an ``annotate-classifier/1`` file.
    """
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(f"{os.fspath(path)} is not an {FILE_FORMAT} file")
    model = get_model(payload["architecture"], num_classes=len(payload["label_names"]))
    model.load_state_dict(payload["model"])
    return Classifier(model, list(payload["label_names"]), int(payload["input_size"]))
