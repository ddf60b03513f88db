"""The chaos run's environment: CartPole, except that a configuration with many envs is poison.

``ChaosEnv`` aborts the interpreter (as a segfault in a C extension would) at the first step
of a process that holds ``poison_envs`` or more of its instances at once: a configuration
with ``n_envs`` = 16 (its 16 training envs and its evaluation env) kills every process that
trains it, whatever its seed; every other configuration trains CartPole. Checks of the task
(a smoke test, a probe) hold one instance at a time and never trip it.
"""

from __future__ import annotations

import os
from typing import Any

from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class ChaosEnv(CartPoleEnv):
    live = 0  # instances open in this process

    def __init__(self, poison_envs: int = 16, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poison_envs = poison_envs
        self._open = True
        ChaosEnv.live += 1

    def step(self, action: Any):
        if ChaosEnv.live >= self.poison_envs:
            os.abort()
        return super().step(action)

    def close(self) -> None:
        if self._open:
            self._open = False
            ChaosEnv.live -= 1
        super().close()
