"""Request and response bodies: one schema family per entity; unknown fields are refused.

A request field's published schema is exactly what validation accepts (the patterns below are
both); what needs the environment, the search space or the stored state to decide (an unknown
env id, DQN on a continuous task, a server limit) is refused after validation, as documented
by each route's 4xx responses (``ErrorBody``)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from autorl.study.config import DEFAULT_FINAL_SEEDS, DEFAULT_TEST_SEEDS

Algo = Literal["ppo", "a2c", "dqn", "sac", "td3"]
State = Literal["open", "running", "done", "paused", "cancelled"]

MAX_NAME = 200
# A name is a URL path segment (/v1/studies/{name}): no '/', no control characters, no '..'.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:+=@-]*$"
# Gymnasium's id grammar, [namespace/]name[-vN], in ASCII; ':' for ``module:Env`` ids.
ENV_ID_PATTERN = r"^(?:[A-Za-z0-9_.:-]+/)?[A-Za-z0-9_.:-]+$"
ENTRY_POINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"

T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudyCreate(_Strict):
    """A new study (or, with the same settings, more budget for an existing one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"env_id": "CartPole-v1", "algo": "ppo", "trials": 20, "timesteps": 50000}]
        }
    )

    env_id: str = Field(
        max_length=MAX_NAME,
        pattern=ENV_ID_PATTERN,
        description="a registered Gymnasium id, or the id to register for entry_point",
    )
    entry_point: str | None = Field(
        default=None,
        max_length=500,
        pattern=ENTRY_POINT_PATTERN,
        description="package.module:Class; its module needs a prefix in AUTORL_API_ENTRY_POINTS",
    )
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    env_attrs: dict[str, Any] = Field(default_factory=dict)
    family: str | None = Field(default=None, max_length=MAX_NAME, pattern=NAME_PATTERN)
    algo: Algo
    trials: int = Field(ge=1, le=100_000, description="budget: finished trials in total")
    timesteps: int = Field(ge=100, le=1_000_000_000, description="env steps per training run")
    space: str | None = Field(default=None, min_length=1, max_length=100)
    space_inline: dict[str, Any] | None = None
    seeds: int | None = Field(
        default=None, ge=1, le=100, description="no racing: exactly this many seeds per trial"
    )
    max_seeds: int | None = Field(default=None, ge=1, le=100, description="racing (default 3)")
    min_seeds: int | None = Field(default=None, ge=1, le=100, description="racing (default 3)")
    race_z: float | None = Field(default=None, ge=0, le=10)
    aggregate: Literal["mean", "iqm", "median", "worst", "lcb"] | None = None
    threshold: float | None = Field(default=None, description="the return that counts as solved")
    evaluations: int = Field(default=10, ge=1, le=1000)
    eval_episodes: int = Field(default=5, ge=1, le=10_000)
    pruner: Literal["median", "hyperband", "none"] = "median"
    objectives: Literal["return", "return,params", "return,latency"] = Field(
        default="return", description="with a cost: a front of return against it (GET .../front)"
    )
    finalists: int = Field(
        default=0,
        ge=0,
        le=20,
        description="final choice among the top K on final_seeds more seeds (0: off; not 1)",
    )
    final_seeds: int = Field(default=DEFAULT_FINAL_SEEDS, ge=1, le=100)
    validation_seeds: int = Field(
        default=DEFAULT_TEST_SEEDS, ge=0, le=100, description="unseen seeds of the final test"
    )
    max_retries: int = Field(
        default=2, ge=0, le=10, description="re-queues of a configuration whose process died"
    )
    memory_limit_mb: int | None = Field(
        default=None, ge=512, le=10_000_000, description="address space of a trial's process"
    )
    max_concurrent_trials: int | None = Field(
        default=None, ge=1, le=1000, description="trials running at once, over all workers"
    )
    warm_start: Literal["auto", "none"] = "auto"
    warm_start_trials: int = Field(default=5, ge=0, le=100)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    name: str | None = Field(
        default=None,
        max_length=MAX_NAME,
        pattern=NAME_PATTERN,
        description="the study's id in URLs (default: env id and algo, and the task's key)",
    )


class BudgetUpdate(_Strict):
    trials: int = Field(ge=1, le=100_000, description="new total budget (only grows)")


class SeedPolicy(BaseModel):
    """How the study chooses seeds: racing (min/max seeds) or ``seeds`` for every trial."""

    racing: bool
    min_seeds: int  # seeds the published configuration ran, at least
    max_seeds: int
    aggregate: str  # how a configuration's seed scores become its score
    finalists: int = 0  # the final choice among the top K (0: none)
    final_seeds: int = 0


class Finalist(BaseModel):
    trial: int
    selection_score: float | None  # its aggregate over its training seeds
    train_scores: list[float]
    final_scores: list[float | None]  # per final seed (None: that run failed)
    score: float | None  # the aggregate over training and final seeds (what chose)


class FinalChoice(BaseModel):
    """The final choice among the top configurations, on seeds tuning and the test never use."""

    chosen: int
    aggregate: str
    finalists: list[Finalist]
    seeds: list[int]
    episodes: int
    first_episode_seed: int
    episode_seed_step: int
    env_steps: int


class TestResult(BaseModel):
    """The published score: the chosen trial re-trained on seeds no choice used."""

    trial: int
    selection_score: float | None  # its aggregate over its training seeds (what chose it)
    selection_seeds: list[int]
    aggregate: str
    score: float | None  # the same aggregate over the test seeds
    mean: float | None
    ci95: list[float] | None
    worst: float | None
    scores: list[float | None]  # per test seed (None: that run failed)
    test_seeds: list[int]
    episodes: int
    first_episode_seed: int
    episode_seed_step: int = 0  # test seed j's episodes start at first + j * step
    threshold: float | None
    solved_fraction: float | None  # test seeds reaching the threshold


class StudyPublic(BaseModel):
    id: str  # the study name
    env_id: str
    algo: str
    family: str | None
    state: State
    trials_done: int
    budget: int
    running: int
    best: float | None  # the selection score of the best selectable trial
    validated_best: float | None  # the test mean (kept name); ``test`` has the figures
    seeds: SeedPolicy
    test: TestResult | None
    failures: dict[str, int]  # reason -> trials
    priority: int
    warm_start: list[str]  # origins of the queued warm-start configurations
    final: FinalChoice | None = None  # the final choice, when the study made one


class TrialPublic(BaseModel):
    number: int
    state: str  # waiting | running | complete | pruned | fail
    value: float | None
    params: dict[str, Any]
    source: str | None
    failure_reason: str | None
    env_steps: int | None
    wall_s: float | None
    seed_scores: list[float]  # per seed run, in seed order (value: their aggregate)
    selectable: bool  # ran the study's min_seeds seeds: may be its best
    policy_params: int | None = None  # acting parameters (studies with a cost objective)
    latency_us: float | None = None  # µs per action, batch 1, the worker's device


class FrontPointPublic(BaseModel):
    trial: int
    params: int | None
    latency_us: float | None
    score: float  # aggregate of its training seeds
    seed_scores: list[float]
    kept: float | None  # share of the best's return above the floor
    net_arch: Any


class FrontPublic(BaseModel):
    """A study's front of return against a cost, cheapest first."""

    study: str
    objective: Literal["params", "latency"]
    floor: float
    floor_from: Literal["random policy", "worst trial"]
    points: list[FrontPointPublic]


class FamilyPublic(BaseModel):
    name: str
    tasks: int


class ListOf(BaseModel, Generic[T]):
    """A list response: ``count`` is the total, ``data`` this page."""

    data: list[T]
    count: int


class Health(BaseModel):
    status: Literal["ok"]
    storage: bool


class ErrorBody(BaseModel):
    """Every refusal: what is wrong and what to change."""

    detail: str = Field(description="the message: what is wrong and what to change")
    error: str = Field(
        description="the kind: validation, unauthorized, NotFound, Conflict, TooMany, "
        "Unprocessable, TaskError, SpaceError, UsageError, storage ..."
    )
    problems: list[str] | None = Field(
        default=None, description="validation only: one 'field: what is wrong' per problem"
    )
