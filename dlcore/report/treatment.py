"""The treatment-effect section of a model card (Markdown lines), from the card's 'treatment'."""

from __future__ import annotations

from typing import Any


def treatment_markdown(section: dict[str, Any]) -> list[str]:
    """Arms and randomisation check, the trial's overall effect, and the evaluation of predicted
    benefit on the held-out records (Qini area with CI beside the T-learner's, calibration for
    benefit by quintile, the treat-if-benefit policy) as Markdown lines."""
    check = section.get("check", {})
    uplift = section.get("uplift", {})
    lines = [
        "",
        "## Treatment effect (who benefits)",
        "",
        f"- Treatment column '{section.get('column')}': '{section.get('treated')}' against "
        f"'{section.get('control')}' (control). One outcome head per arm (TARNet)"
        + (", with a propensity head (DragonNet)" if section.get("propensity_head") else "")
        + "; benefit = risk without treatment minus risk with it.",
        f"- {check.get('sentence', '')}",
        *[f"- **Warning:** {w}" for w in check.get("warnings", [])],
        f"- {section.get('overall_effect', {}).get('sentence', '')}",
        f"- {uplift.get('sentence', '')}",
    ]
    baseline = section.get("baselines", {}).get("t_learner")
    if baseline:
        lines.append(
            f"- Baseline T-learner (two gradient-boosting models): Qini area "
            f"{baseline['qini_area']:.4f} (95% CI {baseline['qini_low']:.4f} to "
            f"{baseline['qini_high']:.4f})."
        )
    groups = uplift.get("groups", [])
    if groups:
        lines += [
            "",
            "Calibration for benefit (held-out records, by quintile of predicted benefit; "
            "percentage points):",
            "",
            "| quintile | control n | treated n | predicted | observed (95% CI) |",
            "|---|---|---|---|---|",
        ]
        for g in groups:
            lines.append(
                f"| {g['group']} | {g['n_control']} | {g['n_treated']} | "
                f"{100 * g['predicted']:.1f} | {100 * g['observed']:.1f} "
                f"({100 * g['low']:.1f} to {100 * g['high']:.1f}) |"
            )
    rates = uplift.get("policy_rate", [])
    if rates:
        best = min(range(len(rates)), key=lambda i: rates[i] if rates[i] == rates[i] else 9)
        lines += [
            "",
            f"Treating only if predicted benefit > t: lowest estimated event rate "
            f"{100 * rates[best]:.1f}% (treating {100 * uplift['policy_treated'][best]:.0f}%), "
            f"against {100 * uplift.get('treat_all_rate', float('nan')):.1f}% treating all and "
            f"{100 * uplift.get('treat_none_rate', float('nan')):.1f}% treating none "
            "(held-out records; a chosen threshold is optimistic on the records it was chosen on).",
        ]
    lines += [
        "",
        "Benefit estimates are a model's, from a trial's patients: an interval that includes 0 "
        "means no clear difference for that patient.",
    ]
    return lines
