"""Gymnasium environments: make (with attributes), probe features, check compatibility,
smoke test. Imports Gymnasium, never SB3 or torch."""
