"""The feature schema a predictor was trained on, and turning rows into its feature matrix."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuneahead.errors import InputError, Location

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

class SchemaMismatchError(InputError):
    """The features offered do not match the ones a predictor was trained on."""


@dataclass(frozen=True)
class FeatureSchema:
    """Ordered feature names with their role and unit; `version` is a hash of names + units."""

    names: tuple[str, ...]
    roles: tuple[str, ...]
    units: tuple[str, ...]

    @property
    def version(self) -> str:
        text = "\n".join(f"{n}:{u}" for n, u in zip(self.names, self.units, strict=True))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "names": list(self.names), "roles": list(self.roles), "units": list(self.units)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureSchema:
        schema = cls(tuple(d["names"]), tuple(d["roles"]), tuple(d["units"]))
        if not len(schema.names) == len(schema.roles) == len(schema.units) or not all(
            isinstance(x, str) for x in (*schema.names, *schema.roles, *schema.units)
        ):
            raise SchemaMismatchError("predictor metadata is inconsistent: the schema's names, roles and units differ")
        if d.get("version") and d["version"] != schema.version:
            raise SchemaMismatchError("predictor metadata is inconsistent: schema version does not match its names")
        return schema

    def check_names(self, offered: Sequence[str], *, source: str = "features") -> None:
        """Raise a clear error unless `offered` holds every feature of this schema."""
        missing = [n for n in self.names if n not in set(offered)]
        if missing:
            raise SchemaMismatchError(
                f"{source} lack {len(missing)} of the predictor's {len(self.names)} features: "
                f"{', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}",
                Location(field=missing[0]),
                hint="pass NaN for a feature you cannot compute (it counts as missing), "
                "or refit the predictor on the current feature set",
            )

    def check_catalogue_units(self) -> None:
        """A registered feature whose unit changed since training means the numbers no longer mean the same."""
        import tuneahead.catalogue  # noqa: F401  (every plugin registered, so no unit goes unchecked)
        from tuneahead.features.row import _catalogue_entry

        for name, unit in zip(self.names, self.units, strict=True):
            entry = _catalogue_entry(name)
            if entry is not None and unit and entry[2] != unit:
                raise SchemaMismatchError(
                    f"feature {name!r} was measured in {unit!r} when the predictor was trained; "
                    f"the feature catalogue now says {entry[2]!r}",
                    Location(field=name),
                    hint="refit the predictor with the current version of TuneAhead",
                )


def to_frame(rows: Any) -> pd.DataFrame:
    """Accept a DataFrame, one mapping, or a sequence of mappings."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, Mapping):
        return pd.DataFrame([dict(rows)])
    if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
        if not all(isinstance(r, Mapping) for r in rows):
            raise InputError("rows must be a DataFrame, a mapping, or a list of mappings")
        return pd.DataFrame([dict(r) for r in rows])
    raise InputError(f"rows must be a DataFrame, a mapping, or a list of mappings, not {type(rows).__name__}")


def feature_matrix(table: pd.DataFrame, names: Sequence[str], *, strict: bool = True) -> np.ndarray:
    """Columns `names` of `table` as a float64 matrix; infinities and None become NaN (= missing).

    With `strict`, a column absent from the table is an error (a likely schema mismatch); otherwise it is
    treated as missing for every row.
    """
    import numpy as np
    import pandas as pd

    out = np.full((len(table), len(names)), np.nan, dtype=np.float64)
    missing = [n for n in names if n not in table.columns]
    if missing and strict:
        FeatureSchema(tuple(names), ("",) * len(names), ("",) * len(names)).check_names(
            list(table.columns), source="the rows"
        )
    for j, name in enumerate(names):
        if name not in table.columns:
            continue
        col = table[name]
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(float)
        try:
            values = pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        except (ValueError, TypeError):
            from tuneahead.store.table import require_numeric

            require_numeric(table, [name])  # raises, naming the file, line and column
            raise InputError(f"feature {name!r} must be numeric", Location(field=name)) from None
        values[~np.isfinite(values)] = np.nan
        out[:, j] = values
    return out
