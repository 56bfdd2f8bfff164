"""Normalized phone numbers in the store: the rule for one number (`normalized`), the bulk job
behind "Normalize phone numbers" (`normalize_numbers`), its report of what could not be
normalized, and the server's background runs of it.

    progress = normalize_numbers(store)           # every stale number, in batches
    for problem in all_problems(store): ...       # what could not be normalized
"""

from offhook.directory.normalization.job import (
    NormalizationBusy,
    Progress,
    count_problems,
    last_run,
    normalize_numbers,
    stale_numbers_exist,
)
from offhook.directory.normalization.report import Problem, all_problems, problems, write_report
from offhook.directory.normalization.runner import NormalizationRunner
from offhook.directory.normalization.values import Normalized, Normalizer, normalized

__all__ = [
    "NormalizationBusy",
    "NormalizationRunner",
    "Normalized",
    "Normalizer",
    "Problem",
    "Progress",
    "all_problems",
    "count_problems",
    "last_run",
    "normalize_numbers",
    "normalized",
    "problems",
    "stale_numbers_exist",
    "write_report",
]
