"""Names of the attributes autorl stores on Optuna studies and trials (the storage contract).

Study user attrs:
  ``autorl.config``      StudyConfig.to_dict(): task, algo, space, timesteps, seeds, evaluation ...
  ``autorl.budget``      int: finished trials the study should reach
  ``autorl.validation``  dict: {"trial": n, "mean", "std", "scores": [per seed],
                         "train_seeds": [...], "eval_seed": first episode seed,
                         "episodes": n, "timesteps": n}

Trial user attrs (all JSON):
  ``config``           TrainConfig.to_dict() actually trained (after constraint repairs)
  ``repairs``          [str]: what the constraints changed in the sampled parameters
  ``seeds``            [SeedResult.to_dict()]: per-seed score, curve [[step, mean, std], ...],
                       env_steps, wall_s
  ``score_std``        float: std of per-seed scores
  ``env_steps``        int: env steps spent (all seeds)
  ``wall_s``           float: wall-clock seconds of the trial
  ``failure_reason``   FailureReason value, for pruned and failed trials
  ``failure_message``  str: what happened, for failed trials
  ``worker``           "host:pid" of the process that ran it
  ``source``           "sampler" | "enqueued" | "requeued" | "warm_start:<where>"
  ``requeued_from``    int: number of the trial whose worker died

Intermediate values: reported at step ``k * timesteps + env_steps`` for seed index k, so trials of a
study are compared seed by seed at the same point of training.
"""

CONFIG = "config"
REPAIRS = "repairs"
SEEDS = "seeds"
SCORE_STD = "score_std"
ENV_STEPS = "env_steps"
WALL_S = "wall_s"
FAILURE_REASON = "failure_reason"
FAILURE_MESSAGE = "failure_message"
WORKER = "worker"
SOURCE = "source"
REQUEUED_FROM = "requeued_from"
