"""The one committed-artefact type (elfutils.book.committed): a committed copy stands in only when it is
there, intact, made from what the profile needs, and the profile lets committed copies stand in."""

from __future__ import annotations

import json

import pytest

from elfutils.book.committed import CommittedArtefact, UnusableArtefact
from elfutils.book.profiles import get_profile


def _card_reader(folder):
    card = folder / "card.json"
    if not card.is_file():
        raise UnusableArtefact(f"{folder} lacks card.json")
    return folder, json.loads(card.read_text())


@pytest.fixture
def artefact(tmp_path):
    def make(profile, target):
        target.mkdir(parents=True, exist_ok=True)
        (target / "card.json").write_text(json.dumps({"seed": profile.seed, "device": "cpu"}))
        return target

    return CommittedArtefact(name="thing", location=lambda p: tmp_path / f"thing-{p.name}", read=_card_reader,
                             identity=lambda p: {"seed": p.seed}, make=make,
                             detail=lambda card: f" (made on {card['device']})")


def test_a_committed_artefact_stands_in_only_when_it_matches(artefact, tmp_path):
    default = get_profile("default")
    path, why = artefact.status(default)
    assert path is None and "no usable committed thing" in why and "lacks card.json" in why
    written = artefact.export(default)
    assert written == artefact.path("default") == tmp_path / "thing-default"
    path, why = artefact.status(default)
    assert path == written and why.endswith("(made on cpu)"), why
    other = default.replace(seed=default.seed + 1)
    path, why = artefact.status(other)
    assert path is None and "another seed" in why
    path, why = artefact.status(default.replace(use_committed_model=False))
    assert path is None and "computes its own thing" in why


def test_an_artefact_of_no_profile_ignores_the_profiles_choice(artefact):
    artefact.per_profile = False
    artefact.export("default")
    path, _ = artefact.status(get_profile("default").replace(use_committed_model=False))
    assert path is not None
