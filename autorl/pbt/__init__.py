"""Population-based training (PBT, PB2): the pure parts. `explore` picks who copies whom and the
new hyperparameters; it imports numpy and `autorl.spaces.params` only."""
