"""Which Target each manifest lives in, checked before anything reads AWS.

Target manifests are taken out of the resource list (they are not AWS resources); every other
manifest gets its effective target: `metadata.target`, else the set's default Target, else None
(the ambient credentials and Region). A name is unique per target, and a reference resolves within
its target: these checks run per target (`DesiredState.by_target`).
"""

from __future__ import annotations

from ..errors import ManifestError
from .state import Located
from .target import TargetManifest


def split_targets(located: list[Located], errors: list[ManifestError]) -> tuple[list[Located], dict[str, Located]]:
    """(resources with `target` set, Target manifests by name); errors appended, located."""
    targets: dict[str, Located] = {}
    resources: list[Located] = []
    for item in located:
        if isinstance(item.manifest, TargetManifest):
            if item.manifest.metadata.target:
                errors.append(ManifestError(item.file, item.line_of(["metadata", "target"]), item.label,
                                            "metadata.target", "a Target does not live in a target; remove it"))
            if item.manifest.name in targets:
                first = targets[item.manifest.name]
                errors.append(ManifestError(item.file, item.line_of(["metadata", "name"]), item.label,
                                            "metadata.name", f"duplicate {item.label}: also defined at "
                                            f"{first.file}:{first.line_of(['metadata', 'name'])}"))
                continue
            targets[item.manifest.name] = item
        else:
            resources.append(item)
    defaults = [t for t in targets.values() if t.manifest.spec.default]
    for extra in defaults[1:]:
        errors.append(ManifestError(extra.file, extra.line_of(["spec", "default"]), extra.label, "spec.default",
                                    f"only one Target may be the default; {defaults[0].label} "
                                    f"({defaults[0].file}:{defaults[0].line}) already is"))
    default = defaults[0].manifest.name if defaults else None
    for item in resources:
        named = item.manifest.metadata.target
        if named is not None and named not in targets:
            known = ", ".join(sorted(targets)) or "none in this set"
            errors.append(ManifestError(item.file, item.line_of(["metadata", "target"]), item.label,
                                        "metadata.target", f"no Target manifest named {named!r} (targets: {known})"))
        item.target = named if named is not None else default
    return resources, targets

