"""app/domain/iam.py's region table against botocore's partition data (endpoints.json)."""

from __future__ import annotations

import botocore.session

from app.domain.iam import HOME_REGION, REGIONS, Partition


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
