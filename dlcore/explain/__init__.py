"""Explanations: tabular SHAP, image heatmaps, plain-language summaries, one dispatcher."""
