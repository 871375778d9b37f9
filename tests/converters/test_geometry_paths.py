"""Path helpers: the shortcuts give what the general rules (and pathlib) give."""

from __future__ import annotations

import itertools
from pathlib import PurePosixPath

from annotate.converters.geometry import is_safe_relative_path, normalize_relative_path, posix_normalized, posix_stem


def _general(path: str) -> str:
    cleaned = path.replace("\\", "/")
    candidate = "/".join(part for part in cleaned.split("/") if part not in ("", "."))
    if is_safe_relative_path(candidate):
        return candidate
    name = PurePosixPath(cleaned).name
    return name if name not in ("", ".", "..") and is_safe_relative_path(name) else "image"


def test_every_short_path_is_cleaned_as_the_general_rule_cleans_it():
    pieces = ["a", ".", "..", ":", "c:", "/", "\\", "b.jpg", ""]
    paths = {"".join(parts) for count in range(5) for parts in itertools.product(pieces, repeat=count)}
    assert len(paths) > 4000
    assert [path for path in paths if normalize_relative_path(path) != _general(path)] == []
    # Whatever comes in, what goes out is safe to join to an output folder.
    assert [path for path in paths if not is_safe_relative_path(normalize_relative_path(path))] == []


def test_hand_worked_paths():
    assert normalize_relative_path("0000001.jpg") == "0000001.jpg"
    assert normalize_relative_path("a\\b.jpg") == "a/b.jpg"
    assert normalize_relative_path("c:/x.jpg") == "x.jpg"  # a drive letter: the base name
    assert normalize_relative_path("./images\\a.jpg") == "images/a.jpg"
    assert normalize_relative_path("/abs/a.jpg") == "abs/a.jpg"
    assert normalize_relative_path("..") == normalize_relative_path("a/..") == normalize_relative_path("..\\..") == "image"


def test_posix_stem_and_normalized_spell_what_pathlib_spells():
    pieces = ["a", ".", "..", "/", "b.jpg", ".x", "c.", "d.tar.gz", ""]
    paths = {"".join(parts) for count in range(1, 5) for parts in itertools.product(pieces, repeat=count)} - {""}
    assert len(paths) > 4000
    assert [path for path in paths if posix_normalized(path) != str(PurePosixPath(path))] == []
    assert [path for path in paths if PurePosixPath(path).name and posix_stem(path) != str(PurePosixPath(path).with_suffix(""))] == []
    assert posix_stem("photos//a.b.jpg") == "photos/a.b"
    assert posix_stem("./.hidden") == ".hidden" and posix_stem("a.") == "a."
