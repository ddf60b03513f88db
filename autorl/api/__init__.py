"""The HTTP API (``autorl serve``): submit studies, read results; workers run the trials.

Needs the ``api`` extra (FastAPI, uvicorn). Imports no torch and no Stable-Baselines3.
"""

from autorl.api.app import create_app
from autorl.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
