"""app/domain/iam.py's region table against botocore's partition data (endpoints.json)."""

from __future__ import annotations

import botocore.session

from app.domain.iam import HOME_REGION, REGION_NAMES, REGIONS, Partition, region_sets


def _botocore_regions() -> dict[str, set[str]]:
    loader = botocore.session.get_session().get_component("data_loader")
    return {p["partition"]: set(p["regions"]) for p in loader.load_data("endpoints")["partitions"]}


def test_every_region_we_offer_is_known_to_botocore_and_none_is_missing() -> None:
    known = _botocore_regions()
    for partition in Partition:
        ours = set(REGIONS[partition])
        unknown = ours - known[partition.value]
        assert not unknown, f"{partition.value}: botocore does not know {sorted(unknown)}"
        missing = known[partition.value] - ours
        assert not missing, f"{partition.value}: add {sorted(missing)} to app/domain/iam.py REGIONS"
        assert HOME_REGION[partition] in ours


def test_botocore_resolves_each_region_to_its_partition() -> None:
    session = botocore.session.get_session()
    for partition in Partition:
        for region in REGIONS[partition]:
            assert session.get_partition_for_region(region) == partition.value


def test_every_region_has_the_name_botocore_gives_it() -> None:
    loader = botocore.session.get_session().get_component("data_loader")
    described = {
        region: data.get("description", "")
        for p in loader.load_data("endpoints")["partitions"]
        for region, data in p["regions"].items()
    }
    for partition in Partition:
        for region in REGIONS[partition]:
            # botocore writes São Paulo without its accent.
            assert REGION_NAMES[region].replace("ã", "a") == described[region], region


def test_region_sets_hold_only_the_partitions_regions() -> None:
    for partition in Partition:
        sets = {s.key: s.regions for s in region_sets(partition)}
        assert sets["all"] == REGIONS[partition]
        assert all(set(regions) <= set(REGIONS[partition]) and regions for regions in sets.values())
    assert "us-east-1" in {s.key: s for s in region_sets(Partition.AWS)}["us"].regions
