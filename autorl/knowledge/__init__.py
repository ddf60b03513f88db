"""The knowledge base and its use: past tasks read from storage and from the shipped seed,
knowledge-base files, the best per family, warm-start proposals and the fading-prior
sampler. The learner itself (``autorl.meta``) takes and returns plain data."""
