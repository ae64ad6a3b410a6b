"""Figures a clinician can read (issue 14 #15, #21): overlays with a colour scale, waterfalls in
percentage points with clinical values, a loss surface without white bands, a sentence when
nothing is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.plots.data import plot_missingness
from dlcore.plots.explain import plot_overlay, plot_waterfall
from dlcore.plots.learn import plot_optimizer_paths
from dlcore.teach.concepts import SURFACES, optimizer_path, surface_grid


def test_overlay_has_a_colour_scale_saying_what_the_colours_mean():
    image = np.zeros((8, 8, 1), dtype=np.uint8)
    heat = np.linspace(0, 1, 64).reshape(8, 8)
    fig = plot_overlay(image, heat, 0.5, title="Grad-CAM", scale_title="evidence for malignant")
    image_trace, scale = fig.data
    assert image_trace.type == "image"
    assert scale.marker.showscale and scale.marker.cmin == 0 and scale.marker.cmax == 1
    assert list(scale.marker.colorbar.ticktext) == ["none", "strongest"]
    assert scale.marker.colorbar.title.text == "evidence for malignant"
    blended = np.asarray(image_trace.z)
    assert blended[0, 0].tolist() == [0, 0, 0] and blended[-1, -1].tolist() != [0, 0, 0]


def test_waterfall_in_points_with_clinical_values():
    contributions = pd.DataFrame(
        {
            "feature": ["platelets", "age"],
            "value": [265000.0, 75.0],
            "contribution": [0.30, 0.2996],
        }
    )
    fig = plot_waterfall(contributions, 0.4, 0.9996, output_label="P(death)", percent=True)
    labels = list(fig.data[0].y)
    assert "platelets = 265,000" in labels and "age = 75" in labels
    assert labels[-1] == "prediction: > 99%"
    assert not any("e+0" in label for label in labels)
    assert "percentage points" in fig.layout.xaxis.title.text
    assert fig.data[0].base == 40.0


def test_loss_surface_fills_its_axes():
    surface = next(iter(SURFACES))
    grid = surface_grid(surface)
    paths = {"adam": optimizer_path("adam", surface, learning_rate=0.05, steps=20)}
    fig = plot_optimizer_paths(grid, paths)
    assert tuple(fig.layout.xaxis.range) == (grid["w1"][0], grid["w1"][-1])
    assert tuple(fig.layout.yaxis.range) == (grid["w2"][0], grid["w2"][-1])
    # a square aspect shrinks the plot area instead of stretching a range past the surface
    assert fig.layout.xaxis.constrain == "domain" and fig.layout.yaxis.constrain == "domain"


def test_no_missing_values_is_a_sentence_not_empty_axes():
    fig = plot_missingness({"age": 0.0, "sex": 0.0})
    assert not fig.data
    assert fig.layout.annotations[0].text == "No missing values: all 2 columns are complete."
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    some = plot_missingness({"age": 0.0, "sex": 0.25})
    assert list(some.data[0].y) == ["sex"]
