"""Search: where Optuna meets training (studies, objective, budgets, workers)."""
