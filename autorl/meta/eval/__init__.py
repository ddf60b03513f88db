"""Leave-one-task-out evaluation of the meta-learner: on a recorded table (offline) and on
live studies, and its report."""
