"""Mergeable profiles of columns and tables, and the reference (schema +
expectations + profile) they are compared against.

Every profile speaks one verb set (``argusml.stats.mergeable``): built from
data by a class method (``from_values``, ``from_arrow``, ``profile_source``
for a table) or, for the co-moments that accumulate row blocks, ``update``;
combined by ``merge`` or ``+``, which return a new profile and leave both
parts unchanged; read through properties; stored by ``to_dict``/``from_dict``.
"""

from argusml.profile.categorical import CategoryProfile
from argusml.profile.column import ColumnProfile, ColumnSpec, build_column, profile_column
from argusml.profile.correlation import CoMoments
from argusml.profile.dataset import DatasetProfile, profile_source
from argusml.profile.embedding import EmbeddingProfile, embedding_drift_profiles
from argusml.profile.frame import TableSource, coerce, infer_kind, open_source, to_arrow
from argusml.profile.numeric import NumericProfile, NumericSpec
from argusml.profile.reference import Reference, is_baseline_file

__all__ = [
    "CategoryProfile",
    "CoMoments",
    "ColumnProfile",
    "ColumnSpec",
    "DatasetProfile",
    "EmbeddingProfile",
    "NumericProfile",
    "NumericSpec",
    "Reference",
    "TableSource",
    "build_column",
    "coerce",
    "embedding_drift_profiles",
    "infer_kind",
    "is_baseline_file",
    "open_source",
    "profile_column",
    "profile_source",
    "to_arrow",
]
