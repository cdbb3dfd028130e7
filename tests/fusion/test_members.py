"""The ensemble member declaration: validated, read from the parameters of an environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from rakuten_kedro.fusion.members import EnsembleMember, load_members, parse_members

CONF = Path(__file__).resolve().parents[2] / "conf"
NETWORKS = {"one_layer": {"hidden": 0}, "two_layer": {"hidden": 6}}


def _member(name="m1", network="two_layer"):
    return {"name": name, "text": "text_a", "image": "image_b", "network": network}


def test_parse_members_keeps_order_and_checks_entries():
    members = parse_members([_member("m1"), _member("m2", "one_layer")], NETWORKS)
    assert members[0] == EnsembleMember("m1", "text_a", "image_b", "two_layer")
    assert [m.name for m in members] == ["m1", "m2"]
    with pytest.raises(ValueError, match="non-empty list"):
        parse_members([], NETWORKS)
    with pytest.raises(ValueError, match=r"ensemble.members\[0\] must have keys"):
        parse_members([{"name": "m1"}], NETWORKS)
    with pytest.raises(ValueError, match="names network 'three_layer'"):
        parse_members([_member(network="three_layer")], NETWORKS)
    with pytest.raises(ValueError, match="duplicated names"):
        parse_members([_member(), _member()], NETWORKS)
    with pytest.raises(ValueError, match="not a valid namespace name"):
        parse_members([_member(name="bad.name")], NETWORKS)


def test_load_members_reads_an_environment(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    (tmp_path / "base" / "parameters_ensemble.yml").write_text(
        "ensemble:\n  members:\n    - {name: m1, text: t, image: i, network: n}\n"
        "fusion:\n  networks:\n    n: {hidden: 0}\n"
    )
    assert load_members(conf_source=tmp_path, env="local")[0].name == "m1"


def test_project_configuration_declares_the_required_ensembles():
    base = load_members(conf_source=CONF, env="local")
    assert len(base) >= 3
    assert len({m.text for m in base}) > 1 and len({m.image for m in base}) > 1
    assert len({m.network for m in base}) > 1
    assert len(load_members(conf_source=CONF, env="rakuten")) == 12


def test_a_session_config_loader_decides_the_environment(monkeypatch):
    from kedro.config import OmegaConfigLoader  # noqa: PLC0415

    import rakuten_kedro.fusion.members as members_module  # noqa: PLC0415

    loader = OmegaConfigLoader(str(CONF), base_env="base", default_run_env="local", env="rakuten")
    assert len(load_members(loader)) == 12  # an unread loader is an empty mapping: still used
    monkeypatch.setattr(members_module, "_config_loader", None)
    members_module.use_config_loader(loader)
    assert len(load_members()) == 12
