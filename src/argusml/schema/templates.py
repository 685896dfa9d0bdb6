"""Team templates for model YAMLs: ``extends: <name>`` merges ``DIR/templates/<name>.yaml`` under the model.

Many models of one team share their alerting (receivers, routes, SLOs, the
checks that page): writing it once in a template and overriding a few keys
per model keeps a change to the team's pager one edit, not forty. The merge
is deep: mappings merge key by key, a list or a scalar is replaced by the
later document's, and ``null`` removes a key an earlier document set.

Each merged key remembers the file it came from (``Sourced.origins``), so a
validation error in a key the template set names the template, not only the
model that extends it. A template's relative paths (``reference``,
``versions.<v>.reference``) are relative to the template's own file, as a
reader of that file expects; they are made absolute before the merge.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argusml.schema.config import read_mapping
from argusml.schema.errors import ConfigError

TEMPLATES_DIR = "templates"
"""The folder beside the model YAMLs that holds the templates; ``argus serve`` never loads it as models."""

Loc = tuple[Any, ...]


@dataclass
class Sourced:
    """A config document and, for every key path it holds, the file that set it (lists are one value)."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Loc, Path] = field(default_factory=dict)

    def origin(self, loc: Loc) -> Path | None:
        """The file that set the value at ``loc`` (a validation error's location): the one that set the
        nearest enclosing key; for a mapping whose keys came from one file, that file; None when several
        files contributed (the error is then the extending model's)."""
        for i in range(len(loc), 0, -1):
            found = self.origins.get(tuple(loc[:i]))
            if found is not None:
                return found
        below = {f for k, f in self.origins.items() if k[:len(loc)] == tuple(loc)}
        return below.pop() if len(below) == 1 else None


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` deep-merged onto ``base`` (neither is changed): mappings key by key, lists and scalars
    replaced, ``None`` in ``over`` removing the key from ``base`` (kept as ``None`` when ``base`` has no
    such key, so that a plain ``psi: null`` still means "no PSI threshold")."""
    return _merge(base, over, None, None, ())


def merge_sourced(base: Sourced, over: Sourced, over_file: Path) -> Sourced:
    """``merge`` of two documents, with the origins of the result: ``over``'s keys come from ``over_file``
    unless ``over`` already knows their origin."""
    origins = dict(base.origins)
    data = _merge(base.data, over.data, origins, (over_file, over.origins), ())
    return Sourced(data, origins)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any], origins: dict[Loc, Path] | None,
           src: tuple[Path, dict[Loc, Path]] | None, prefix: Loc) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        path = (*prefix, key)
        if value is None and key in base:
            del out[key]
            _forget(origins, path)
        elif isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            out[key] = _merge(base[key], value, origins, src, path)
        else:
            out[key] = value
            _forget(origins, path)
            _record(origins, src, value, path)
    return out


def _forget(origins: dict[Loc, Path] | None, path: Loc) -> None:
    if origins is not None:
        for k in [k for k in origins if k[:len(path)] == path]:
            del origins[k]


def _record(origins: dict[Loc, Path] | None, src: tuple[Path, dict[Loc, Path]] | None, value: Any,
            path: Loc) -> None:
    if origins is None or src is None:
        return
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            _record(origins, src, v, (*path, k))
        return
    file, known = src
    origins[path] = next((f for i in range(len(path), 0, -1) if (f := known.get(path[:i])) is not None), file)


def template_names(folder: Path) -> list[str]:
    """The templates a model in ``folder`` may extend."""
    d = folder / TEMPLATES_DIR
    return sorted({p.stem for p in [*d.glob("*.yaml"), *d.glob("*.yml")]}) if d.is_dir() else []


def _extends_of(data: dict[str, Any], where: str) -> list[str]:
    ext = data.pop("extends", None)
    if ext is None:
        return []
    names = [ext] if isinstance(ext, str) else ext
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{where}: extends: expected a template name or a list of names (e.g. extends: "
                          f"team-risk), got {ext!r}")
    return names


def _template_file(folder: Path, name: str, where: str) -> Path:
    for suffix in (".yaml", ".yml"):
        p = folder / TEMPLATES_DIR / f"{name}{suffix}"
        if p.is_file():
            return p
    known = template_names(folder)
    hint = difflib.get_close_matches(name, known, n=1)
    listed = (f"templates: {', '.join(known)}" if known
              else f"{folder / TEMPLATES_DIR} holds no templates" if (folder / TEMPLATES_DIR).is_dir()
              else f"there is no {folder / TEMPLATES_DIR} folder")
    raise ConfigError(f"{where}: extends: no template {name!r} ({folder / TEMPLATES_DIR / name}.yaml does not "
                      f"exist)" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" ({listed})")


def _absolute_paths(data: dict[str, Any], file: Path) -> None:
    """A template's ``reference`` and ``versions.<v>.reference``, made absolute against the template's own
    folder: the model that extends it lives elsewhere."""
    def resolve(value: Any) -> Any:
        return str((file.parent / value).resolve()) if isinstance(value, str) else value

    if "reference" in data:
        data["reference"] = resolve(data["reference"])
    versions = data.get("versions")
    if isinstance(versions, dict):
        for v, settings in versions.items():
            if isinstance(settings, dict) and "reference" in settings:
                versions[v] = {**settings, "reference": resolve(settings["reference"])}


def _load_template(folder: Path, name: str, chain: list[str], where: str) -> Sourced:
    if name in chain:
        raise ConfigError(f"{where}: extends: templates form a cycle: {' -> '.join([*chain, name])}")
    path = _template_file(folder, name, where)
    data = read_mapping(path)
    if "model" in data:
        raise ConfigError(f"{path}: model: a template holds keys shared by models, not a model name; "
                          "put 'model:' in each model's own YAML")
    here = f"{path}"
    result = Sourced()
    for parent in _extends_of(data, here):
        result = merge_sourced(result, _load_template(folder, parent, [*chain, name], here), path)
    _absolute_paths(data, path)
    return merge_sourced(result, Sourced(data), path)


def load_with_templates(path: str | Path) -> Sourced:
    """A model YAML with its ``extends:`` templates applied (left to right, then the model's own keys),
    and where each key came from. A document without ``extends`` comes back as it was read."""
    p = Path(path)
    data = read_mapping(p)
    names = _extends_of(data, str(p))
    if not names:
        return Sourced(data, {})
    result = Sourced()
    for name in names:
        result = merge_sourced(result, _load_template(p.parent, name, [], str(p)), p)
    return merge_sourced(result, Sourced(data), p)


def source_label(model_file: Path, origin: Path | None) -> str:
    """How an error names where a key came from: the model's file, and the template when it was one."""
    if origin is None or origin == model_file:
        return str(model_file)
    try:
        shown = origin.relative_to(model_file.parent)
    except ValueError:
        shown = origin
    return f"{model_file} (from {shown})"
