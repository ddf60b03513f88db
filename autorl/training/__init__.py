"""Training: Stable-Baselines3 agents from plain configurations. Import the submodules."""
