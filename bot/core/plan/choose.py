"""Which policy decides an auto-detected reference, and what it selects.

A ``.fluxbot.yaml`` rule first, else the one ImagePolicy of the repository watching that image,
else the shape of the current tag (:func:`bot.core.policy.shape.select`: no prereleases, no
downgrades). A rule's policy never moves a reference down either.

    >>> Chooser().choose("nginx", "apps/x.yaml", "1.25.0", ["1.25.0", "1.26.1", "2.0.0-rc1"])[0]
    '1.26.1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bot.core.policy.shape as shape
from bot.core.config import Config
from bot.core.ignores import canonical_image
from bot.core.policy import latest
from bot.core.policy.select import Policy
from bot.core.policy.semver import parse_version


def _spellings(image: str) -> list[str]:
    """The name as written and its canonical form (``nginx``, ``docker.io/library/nginx``)."""
    canonical = canonical_image(image)
    return [image] if canonical == image else [image, canonical]


@dataclass(frozen=True)
class Chooser:
    """The config and the repository's ImagePolicies (canonical image → (label, spec))."""

    config: Config = field(default_factory=Config.default)
    flux: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def detect(self) -> bool:
        return self.config.detect

    @property
    def exclusion(self) -> tuple[str, ...] | None:
        return self.config.exclusion_list

    @property
    def path_sensitive(self) -> bool:
        """Whether the decision may depend on the file (a config rule limited to paths)."""
        return any(r.paths for r in self.config.rules)

    def skip(self, image: str, path: str) -> bool:
        """Excluded by the config, or matched first by an ``ignore: true`` rule."""
        for name in _spellings(image):
            if self.config.excluded(name, path):
                return True
            for rule in self.config.rules:
                if rule.applies(name, path):
                    return bool(rule.ignore)
        return False

    def _rule(self, image: str, path: str, tag: str) -> tuple[str, Mapping[str, Any]] | None:
        for name in _spellings(image):
            chosen = self.config.policy_for(name, path, tag)
            if chosen is not None:
                label, spec = chosen
                return f"{label}: {Policy.from_spec(spec).describe()}", spec
        flux = self.flux.get(canonical_image(image))
        if flux is not None:
            return f"{flux[0]}: {Policy.from_spec(flux[1]).describe()}", flux[1]
        return None

    def choose(self, image: str, path: str, tag: str, tags: Sequence[str]) -> tuple[str, str, str]:
        """(new tag, policy label, reason) for ``image:tag`` in ``path`` among ``tags``;
        PolicyError if none qualifies."""
        rule = self._rule(image, path, tag)
        if rule is not None:
            label, spec = rule
            new = latest(spec, tags)
            if new != tag and _is_downgrade(tag, new):
                return tag, label, f"{new} selected but it is lower than {tag}: kept"
            return new, label, f"{new} is what {label} selects among {len(tags)} tags"
        picked = shape.select(tag, list(tags))
        new = picked if picked else tag
        label = "same shape as the current tag (no prereleases, no downgrades)"
        why = f"{new} is the highest tag shaped like {tag} among {len(tags)} tags"
        return new, label, why


def _is_downgrade(old: str, new: str) -> bool:
    a, b = parse_version(old), parse_version(new)
    return a is not None and b is not None and b.key < a.key


__all__ = ["Chooser"]
