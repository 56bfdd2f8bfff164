"""Normalized phone numbers in the store: the rule for one number (`normalized`), the bulk job
behind "Normalize phone numbers" (`normalize_numbers`), and the server's background runs of it.
Its report of what could not be normalized is `offhook.directory.normalization.report`: not
re-exported here, as it names addresses (`offhook.directory.names`), which builds on the rule.

    progress = normalize_numbers(store)           # every stale number, in batches
    for problem in report.all_problems(store): ...  # what could not be normalized
"""

from offhook.directory.normalization.job import (
    NormalizationBusy,
    Progress,
    count_problems,
    last_run,
    normalize_numbers,
    stale_numbers_exist,
)
from offhook.directory.normalization.runner import NormalizationRunner
from offhook.directory.normalization.values import Normalized, Normalizer, normalized

__all__ = [
    "NormalizationBusy",
    "NormalizationRunner",
    "Normalized",
    "Normalizer",
    "Progress",
    "count_problems",
    "last_run",
    "normalize_numbers",
    "normalized",
    "stale_numbers_exist",
]
