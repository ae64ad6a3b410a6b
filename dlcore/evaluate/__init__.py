"""Clinical evaluation: metrics, bootstrap CIs, calibration, thresholds, decision curves, subgroups, survival, external cohorts."""
