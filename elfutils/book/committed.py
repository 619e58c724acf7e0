"""Artefacts committed with the code, so that the book reads them instead of computing them for hours.

The trained model, the architecture comparison and the structural fingerprints are each a
:class:`CommittedArtefact`: where it lives for a profile, how to read the card that records what made it, what
a profile needs it to have been made from, and how to make it again. :meth:`CommittedArtefact.status` answers
the one question every stage asks -- does the committed copy stand in for computing this profile's? -- and
says why either way; the stage modules of :mod:`elfutils.book.stages` (``model``, ``architectures``,
``structural_fingerprints``) define the three instances.

The slow stages' committed *results* (``models/book-results/``) need no card: their cache key is in their
path (:func:`elfutils.book.cache.copy_committed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elfutils.book.profiles import Profile, get_profile
from elfutils.paths import committed_models_dir


class UnusableArtefact(Exception):
    """A committed artefact is missing, incomplete or does not match its own card; the message says which."""


def shown(path: Path) -> Path:
    """A committed file or folder as people know it: relative to the project when inside it."""
    root = committed_models_dir().parent
    return path.relative_to(root) if path.is_relative_to(root) else path


@dataclass
class CommittedArtefact:
    """One committed artefact.

    name : what messages call it ("model", "architecture study", "CNNF rows")
    location : profile -> the committed file or folder
    read : location -> (the file or folder a stage reads, its card as a dict); raises
        :class:`UnusableArtefact` when it is missing, incomplete or damaged
    identity : profile -> the card fields that must equal the profile's (data hash, settings, code key)
    make : (profile, target, **options) -> where it was written: compute it and write it with its card
    detail : card -> words added to the status of a usable artefact (device, date); none by default
    per_profile : the profile's ``use_committed_model`` decides whether it may stand in (False: it does not
        depend on the profile, like the CNNF rows of every sublattice)
    profile_of : the profile whose artefact stands for this one (the model's: ``model_from``)
    """

    name: str
    location: Callable[[Profile], Path]
    read: Callable[[Path], tuple[Path, dict]]
    identity: Callable[[Profile], dict]
    make: Callable[..., Path]
    detail: Callable[[dict], str] = lambda card: ""
    per_profile: bool = True
    profile_of: Callable[[str | Profile], Profile] = get_profile

    def path(self, profile: str | Profile = "default") -> Path:
        """Where the artefact is committed for this profile (whether or not it is there)."""
        return self.location(self.profile_of(profile))

    def status(self, profile: str | Profile = "default") -> tuple[Path | None, str]:
        """(what a stage reads, or None; why): whether the committed artefact stands in for computing the
        profile's."""
        p = self.profile_of(profile)
        if self.per_profile and not p.use_committed_model:
            return None, f"profile {p.name!r} computes its own {self.name}"
        try:
            path, card = self.read(self.location(p))
        except UnusableArtefact as exc:
            return None, f"no usable committed {self.name}: {exc}"
        want = self.identity(p)
        differs = [k for k in want if card.get(k) != want[k]]
        if differs:
            return None, (f"committed {self.name} {shown(path)} was made from another "
                          f"{', '.join(differs)} than profile {p.name!r} needs")
        return path, f"committed {self.name} {shown(path)}{self.detail(card)}"

    def export(self, profile: str | Profile = "retrain", target: str | Path | None = None, **options) -> Path:
        """Compute the artefact with ``profile`` and write it with its card to ``target`` (default: where the
        default profile reads it)."""
        target = Path(target) if target is not None else self.path("default")
        return self.make(get_profile(profile), target, **options)
