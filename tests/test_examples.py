"""Every shipped example and catalog loads and solves; goldens pin the rendered Markdown."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from placement.engine.planner import make_plan
from placement.inputs.loading import load_catalog, load_portfolio
from placement.render.report import RENDERERS, render_markdown
from tests.conftest import CATALOGS, EXAMPLES, ROOT


@pytest.mark.parametrize("catalog_path", CATALOGS, ids=lambda p: p.name)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_solves_with_every_catalog(example: Path, catalog_path: Path) -> None:
    catalog = load_catalog(catalog_path)
    plan = make_plan(load_portfolio(example, catalog), catalog, example.name)
    assert plan.solver.status == "optimal" and plan.solver.gap_proven <= 1e-6
    for r in plan.workloads:  # each workload fully placed; training on exactly one option
        assert sum(p.share for p in r.placements) == pytest.approx(1.0, abs=1e-6)
        assert r.kind == "inference" or len(r.placements) == 1
    for c in plan.capacity:
        assert c.used <= c.available
    for fmt, render in RENDERERS.items():
        assert render(plan) == render(plan), fmt


def test_examples_cover_what_the_issue_asks() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"startup", "enterprise", "frontier-lab"} <= names
    catalog = load_catalog(None)
    enterprise = load_portfolio(ROOT / "examples" / "enterprise.yaml", catalog)
    assert len(enterprise.workloads) >= 20
    assert {w.framework for w in enterprise.workloads} == {"pytorch", "jax", "tensorflow"}
    assert any("custom-cuda-kernels" in w.stack for w in enterprise.workloads)
    assert len({w.codebase_name for w in enterprise.workloads}) < len(enterprise.workloads)


def test_default_catalog_is_the_shipped_file() -> None:
    assert load_catalog(None) == load_catalog(ROOT / "catalogs" / "aws.yaml")


def test_catalog_covers_the_required_options_and_tight_trainium_capacity() -> None:
    catalog = load_catalog(None)
    required = {
        "trn1.32xlarge",
        "trn2.48xlarge@us-east-2",
        "inf2.xlarge",
        "inf2.8xlarge",
        "inf2.24xlarge",
        "inf2.48xlarge",
        "p4d.24xlarge",
        "p5.48xlarge",
        "p5en.48xlarge",
        "p6-b200.48xlarge",
        "g6e.48xlarge",
        "g6.48xlarge",
    }
    assert required <= set(catalog.option_ids)
    assert any(o.accelerator.startswith("Trainium3") for o in catalog.options)
    ids = ("trn2.48xlarge@us-east-2", "trn3-ultraserver-gen1", "p5.48xlarge")
    trn2, trn3, p5 = (catalog.option(i) for i in ids)
    assert trn2.capacity_instances * trn2.chips < p5.capacity_instances * p5.chips
    assert trn3.capacity_instances <= 2
    for missing_publicly in (
        ("trn3-ultraserver-gen1", "usd_per_hour"),
        ("trn2.48xlarge@us-east-2", "training_mfu"),
        ("trn3-ultraserver-gen1", "training_mfu"),
    ):
        assert catalog.option(missing_publicly[0]).is_estimate(missing_publicly[1])
    # trn2 has no on-demand price anywhere: its only price is the Capacity Block rate
    assert trn2.price("on-demand") is None and trn2.price("capacity-block") == trn2.usd_per_hour


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_golden_markdown(example: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    catalog = load_catalog(None)
    relative = example.relative_to(ROOT)
    text = render_markdown(make_plan(load_portfolio(relative, catalog), catalog, str(relative)))
    golden = ROOT / "tests" / "golden" / f"{example.stem}.md"
    if update_golden:
        golden.write_text(text)
    assert text == golden.read_text(), "rendered Markdown changed: review, then run pytest --update-golden"


# Data flows one way: inputs -> engine -> analyses -> render -> cli. A folder may import only from
# the folders before it; the core never imports typer, never prints; only the engine solves.
LAYERS = {
    "inputs": {"forbid": {"typer", "pulp", "highspy"}, "after": set()},
    "engine": {"forbid": {"typer", "yaml"}, "after": {"inputs"}},
    "analyses": {"forbid": {"typer", "yaml", "pulp", "highspy"}, "after": {"inputs", "engine"}},
    "render": {"forbid": {"typer", "yaml", "pulp", "highspy"}, "after": {"inputs", "engine", "analyses"}},
}
FOLDERS = set(LAYERS)


SOURCE = ROOT / "src" / "placement"


@pytest.mark.parametrize("module", sorted(str(p.relative_to(SOURCE)) for p in SOURCE.rglob("*.py")))
def test_layers_import_only_what_they_should(module: str) -> None:
    path = SOURCE / module
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    folder = module.split("/")[0]
    if folder not in LAYERS:
        if module == "cli.py":
            assert not {n.split(".")[0] for n in names} & {"pulp", "highspy"}
        return
    assert not {n.split(".")[0] for n in names} & LAYERS[folder]["forbid"]
    used = {n.split(".")[1] for n in names if n.startswith("placement.") and n.split(".")[1] in FOLDERS}
    assert used <= LAYERS[folder]["after"] | {folder}, f"{module} imports from a later layer: {used}"
    assert "print(" not in path.read_text()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_command_works_on_every_example(example: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from placement.cli import app

    scenario = str(ROOT / "examples" / "scenarios" / "trn2-price-cut.yaml")
    runs = [
        ["plan", str(example), "-f", "csv"],
        [
            "explain",
            str(example),
            load_portfolio(example, load_catalog(None)).workloads[0].name,
            "p5.48xlarge",
        ],
        ["compare", str(example), "--scenario", scenario, "-f", "markdown"],
    ]
    if example.name == "waits-for-capacity.yaml":
        # the sweeps re-plan dozens of times (seconds each since the time axis): the smallest
        # example runs them here; tests/golden holds one stress, sensitivity and memo run each
        runs += [
            ["stress", str(example), "-f", "json"],
            ["sensitivity", str(example), "-f", "json"],
            ["memo", str(example), "--samples", "0", "--out", str(tmp_path / "memo.md")],
        ]
    for args in runs:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr)
    if example.name == "waits-for-capacity.yaml":
        assert (tmp_path / "memo.md").read_text().startswith("# Procurement memo")
