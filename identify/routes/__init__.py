"""Identification routes: one module per route (adjustment, kruskal, proximal, spo, jacobian)."""
