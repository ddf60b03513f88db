"""Names of the attributes autorl stores on Optuna studies and trials (the storage contract):
every one of them is here. Study attributes are read and written through
``autorl.study.record`` (one parser, typed writers).

Study user attrs:
  ``autorl.config``      StudyConfig.to_dict(): task, algo, space, timesteps, seeds, evaluation ...
  ``autorl.budget``      int: finished trials the study should reach
  ``autorl.priority``    int: workers serve higher first (default 0)
  ``autorl.state``       "paused" | "cancelled" (set by an operator); absent: active
  ``autorl.state_reason`` str: why the study was paused or cancelled (e.g. its trials kept
                         crashing); absent or null: by hand
  ``autorl.warm_start``  dict: what the warm start proposed, from how many past tasks
  ``autorl.validation``  dict: the final test of the chosen configuration on seeds no
                         choice saw: {"trial": n, "selection_score", "selection_seeds",
                         "aggregate", "score" (that aggregate of the test seeds), "mean",
                         "std", "iqm", "worst", "ci95", "scores": [per test seed],
                         "train_seeds": [test seeds], "eval_seed": first episode seed,
                         "episodes": n, "timesteps": n, "threshold", "solved_fraction"}

Trial user attrs (all JSON):
  ``config``           TrainConfig.to_dict() actually trained (after constraint repairs)
  ``repairs``          [str]: what the constraints changed in the sampled parameters
  ``seeds``            [SeedResult.to_dict()]: per-seed score, curve [[step, mean, std], ...],
                       env_steps, wall_s, pruned (stored after each seed run); a seed run
                       taken over from the killed trial it re-runs has ``from_trial``
  ``seed_scores``      [float]: the per-seed scores alone (cheap to read in SQL)
  ``score_std``        float: std of per-seed scores
  ``env_steps``        int: env steps this trial spent (all its seed runs, none taken over)
  ``selectable``       bool: the trial has the study's min_seeds complete seed runs and may be
                       its best (absent on trials made before racing: selectable)
  ``race``             str: why the trial ran no more seeds (racing studies)
  ``wall_s``           float: wall-clock seconds of the trial
  ``policy_params``    int: the policy's acting parameters (studies with a cost objective;
                       ``autorl.training.cost``), measured before it trains
  ``latency_us``       float: its latency per action, µs (batch 1, the worker's device)
  ``failure_reason``   FailureReason value, for pruned and failed trials
  ``failure_message``  str: what happened, for failed trials
  ``worker``           "host:pid" of the process that ran it
  ``source``           "sampler" | "enqueued" | "requeued" | "warm_start:<where>" |
                       "rerace:<n>" (the last trial of a racing study without an incumbent
                       re-races trial n, its best one-seed configuration) | "shrink:<n>"
                       (a size study's last trials: trial n's settings, smaller networks)
  ``requeued_from``    int: number of the trial whose worker or process died
  ``retries``          int: how many times the configuration was re-queued before this try
                       (absent: 0); once it reaches the study's ``max_retries`` a crash is
                       final
  ``warm_start_expected`` float: the meta-learner's expected normalised score (warm starts)
  ``kb_origin``        str: the fingerprint of the trial a knowledge-base import copied

Intermediate values: reported at step ``k * timesteps + env_steps`` for seed index k, so trials of a
study are compared seed by seed at the same point of training.
"""

STUDY_CONFIG = "autorl.config"
STUDY_BUDGET = "autorl.budget"
STUDY_VALIDATION = "autorl.validation"
STUDY_FINAL = "autorl.final"  # the final choice among the top configurations
STUDY_PRIORITY = "autorl.priority"
STUDY_STATE = "autorl.state"
STUDY_STATE_REASON = "autorl.state_reason"
STUDY_WARM_START = "autorl.warm_start"

CONFIG = "config"
REPAIRS = "repairs"
SEEDS = "seeds"
SEED_SCORES = "seed_scores"
SCORE_STD = "score_std"
ENV_STEPS = "env_steps"
WALL_S = "wall_s"
POLICY_PARAMS = "policy_params"
LATENCY_US = "latency_us"
FAILURE_REASON = "failure_reason"
FAILURE_MESSAGE = "failure_message"
WORKER = "worker"
SOURCE = "source"
REQUEUED_FROM = "requeued_from"
RETRIES = "retries"
SELECTABLE = "selectable"
RACE = "race"
WARM_START_EXPECTED = "warm_start_expected"
KB_ORIGIN = "kb_origin"
RERACE = "rerace"  # a ``source`` value: ``rerace:<trial number>``
