"""autorl: hyperparameter and architecture search for reinforcement learning.

Nothing is imported eagerly: ``import autorl`` stays cheap (the API process must never pull in
torch or Stable-Baselines3). Import the subpackage you need.
"""

__version__ = "0.1.0"
