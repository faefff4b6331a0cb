"""Statistics: pure numpy on arrays, no model, no torch, no drawing.

Input checks, binning, calibration metrics, bootstrap intervals and the one
paired test, temperature scaling and recalibration, divergences and
correlations, and the arrays of multiple-choice items.
"""
