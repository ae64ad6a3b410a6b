"""The search spaces: every option makes a valid spec, and the default settings are a point in
them (trial 1 of a search is the default, so a search can only improve on it)."""

from __future__ import annotations

import pytest

from dlcore.models.spec import ModelSpec, check_spec, default_image_spec, default_spec
from dlcore.training.search import IMAGE_SPACE, TABLE_SPACE, _decode, _encode


def _inside(entry: tuple, value: object) -> bool:
    kind = entry[0]
    if kind == "choice":
        return value in entry[1]
    return entry[1] <= value <= entry[2]


def test_the_image_space_searches_blocks_width_residual_schedule_and_augmentation():
    assert {"conv_filters", "residual", "lr_schedule", "augmentation"} <= set(IMAGE_SPACE)
    blocks = {len(f) for f in IMAGE_SPACE["conv_filters"][1]}
    widths = {f[0] for f in IMAGE_SPACE["conv_filters"][1]}
    assert len(blocks) >= 2 and len(widths) >= 2  # both the depth and the width vary
    assert set(IMAGE_SPACE["residual"][1]) == {True, False}
    strengths = {len(a) for a in IMAGE_SPACE["augmentation"][1]}
    assert strengths == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(
    ("space", "base"),
    [
        (IMAGE_SPACE, default_image_spec(546, "cnn")),
        (IMAGE_SPACE, default_image_spec(4708, "cnn")),
        (TABLE_SPACE, default_spec("binary", 500)),
    ],
)
def test_every_option_makes_a_valid_spec_and_the_default_is_in_the_space(space, base):
    for name, entry in space.items():
        assert _inside(entry, getattr(base, name)), (name, getattr(base, name))
        options = entry[1] if entry[0] == "choice" else [entry[1], entry[2]]
        for option in options:
            assert _decode(name, _encode(option), space) == option
            check_spec(ModelSpec.from_dict({**base.to_dict(), name: option}))
