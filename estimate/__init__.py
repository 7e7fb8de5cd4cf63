"""Numeric layer of mixid: estimators compiled from identify's placements, and the command line.

The estimators (SPO, proximal, CP, adjustment) arrive with the `estimate` issue; today this package holds the
``mixid`` command line (``estimate.cli``), which renders ``identify`` placements.
"""
