"""The Prometheus rules and the Grafana dashboard under ``deploy/`` parse, are complete, and name
only metrics that a live ``/metrics`` scrape of Quan exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import World
from tests.integration.redemption_fixtures import redeem, scene

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "quan-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "quan-dashboard.json"
_METRIC = re.compile(r"\b(quan_[a-z0-9_]+)\b")


def exported(world: World) -> set[str]:
    """The sample names of a scrape after a claim, a redemption and a refusal (so that every
    labelled counter has at least one sample)."""
    s = scene(world, holders=1, quantity=1)
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 201
    assert redeem(world, s.shop, code=s.codes[0]).status_code == 409
    text = world.client.get("/metrics").text
    return {
        sample.name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("quan_")
    }


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_alert_rule_is_complete() -> None:
    found = rules()
    assert len(found) >= 8
    names = [rule["alert"] for rule in found]
    assert len(names) == len(set(names))
    for rule in found:
        assert rule["expr"].strip(), rule
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule
        assert rule["annotations"]["summary"], rule
        assert len(rule["annotations"]["description"]) > 40, rule  # says what to do
        assert _METRIC.search(rule["expr"]), rule


def test_the_rules_and_the_dashboard_name_only_exported_metrics(world: World) -> None:
    names = exported(world)
    assert {"quan_claims_total", "quan_redemptions_total", "quan_refusals_total"} <= names
    used = {m for rule in rules() for m in _METRIC.findall(rule["expr"])}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            found = _METRIC.findall(target["expr"])
            assert found, target
            used |= set(found)
    assert used <= names, sorted(used - names)
