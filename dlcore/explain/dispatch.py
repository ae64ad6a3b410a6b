"""One entry point: the right explainer for a model (tabular or image)."""

from __future__ import annotations

from typing import Any

from dlcore.explain.images import ImageExplainer


def explainer_for(model: Any, layout: Any, background: Any) -> Any:
    """The explainer for a model: ImageExplainer for image layouts, MoleculeExplainer (SHAP per
    atom) for tables with a molecule column, TabularExplainer otherwise."""
    if getattr(layout, "kind", "tabular") == "image":
        return ImageExplainer(model, layout, background)
    if getattr(layout, "molecule_features", None):
        from dlcore.explain.molecules import MoleculeExplainer

        return MoleculeExplainer(model, layout, background)
    from dlcore.explain.tabular import TabularExplainer

    return TabularExplainer(model, layout, background)
