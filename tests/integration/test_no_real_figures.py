"""No real figure in a developer-visible byte (issue 11, item 4).

The real figures of the dataset (sizes of the whole, the training and the held-out part; the counts
behind every rate, and every ratio of two of them) are computed here, then every number in every
file of a release bundle, and in every response a developer can get from the service, is checked
against them (`tests/realfigures.py` says how). The full report, which stays with the council's
reviewers, is scanned too: it must be found to carry real figures, or the scan proves nothing.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from synth.bundle import ALL_FILES, read_bundle, write_bundle
from synth.dataset import read_dataset
from synth.disclosure import run_aggregate_gate, run_gate
from synth.disclosure.report import about
from synth.models import TrainingSpec, fit_model
from synth.synthetic import write_synthetic
from tests.realfigures import RealFigures, Scanner

SYNTHETIC_CHILDREN = 1200  # not the size of any real part of the 1,500-children council


@pytest.fixture(scope="module")
def real(dataset_dir):
    return read_dataset(dataset_dir)


@pytest.fixture(scope="module")
def figures(real):
    return RealFigures.of(real)


@pytest.fixture(scope="module")
def synthetic(real, tmp_path_factory):
    model = fit_model(real, TrainingSpec(seed=3))
    out = tmp_path_factory.mktemp("nrf_syn") / "s"
    write_synthetic(out, model.sample(SYNTHETIC_CHILDREN, 3), model, 3)
    return read_dataset(out)


@pytest.fixture(scope="module")
def gate(real, synthetic):
    return run_gate(real, synthetic, "default", release={"release_id": "r-nrf", "version": 1})


@pytest.fixture(scope="module")
def bundle_path(real, synthetic, gate, tmp_path_factory):
    return write_bundle(tmp_path_factory.mktemp("nrf_bundle") / "b.zip", synthetic, gate.map_json, gate.report,
                        "r-nrf", real.lineage_hash)


def synthetic_sizes(ds) -> set[int]:
    """What a release may say about its own synthetic sample."""
    return {len(ds.children), len(ds.episodes), len(ds.events)}


@pytest.fixture(scope="module")
def scanner(figures, synthetic):
    sizes = synthetic_sizes(synthetic)
    same = {k: v for k, v in figures.exact.items() if v in sizes}
    assert not same, f"the synthetic sample's sizes equal real ones ({same}): sample another number of children"
    return Scanner(figures, sizes)


def test_the_real_figures_are_the_datasets(real, figures):
    assert figures.exact["all children"] == len(real.children) >= 1000
    assert figures.exact["training children"] + figures.exact["holdout children"] == len(real.children)
    assert figures.exact["training events"] + figures.exact["holdout events"] == len(real.events)
    assert figures.is_ratio(figures.exact["training children"] / figures.exact["all children"])
    assert not figures.is_ratio(0.123456789)


def test_no_file_of_a_bundle_carries_a_real_figure(bundle_path, scanner):
    with zipfile.ZipFile(bundle_path) as zf:
        assert set(zf.namelist()) == {"datapackage.json", *ALL_FILES}
    found = scanner.bundle(bundle_path)
    assert not found, "real figures in the bundle:\n" + "\n".join(map(str, found[:20]))


def test_the_full_report_carries_real_figures_so_the_scan_can_fail(gate, scanner, figures):
    """The reviewers' report is exact: the scan must find the training size and real rates in it."""
    found = scanner.json("full report", gate.report.to_dict())
    why = " ".join(f.why for f in found)
    assert "the exact training children" in why and "the exact holdout children" in why
    assert any(f.why.startswith("equals training") for f in found), why  # a real rate, e.g. a conversion
    page = scanner.file("disclosure_report.html", gate.report.to_html().encode())
    assert {f.value for f in page} >= {str(figures.exact["training children"])}


def test_the_scan_finds_a_figure_planted_in_any_file(bundle_path, scanner, figures):
    n, rate = figures.exact["training children"], figures.exact["holdout children"] / figures.exact["training children"]
    with zipfile.ZipFile(bundle_path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    m = json.loads(files["map.json"])
    m["views"]["all"]["real_share"] = rate
    planted = {
        "map.json": json.dumps(m).encode(),
        "README.md": files["README.md"] + f"\nTrained on {n:,} children.\n".encode(),
        "children.csv": _add_column(files["children.csv"], "extra", n),
        "disclosure_report.html": files["disclosure_report.html"].replace(b"</main>", f"<p>{rate}</p></main>".encode()),
        "datapackage.json": json.dumps({**json.loads(files["datapackage.json"]), "real": {"children": n}}).encode(),
    }
    for name, data in planted.items():
        assert scanner.file(name, data), f"a figure planted in {name} was not found"


def _add_column(data: bytes, name: str, value: int) -> bytes:
    lines = data.decode().splitlines()
    return "\n".join([f"{lines[0]},{name}", *(f"{line},{value}" for line in lines[1:3]), *lines[3:]]).encode()


def test_the_public_report_has_results_and_thresholds_but_no_measures(gate, figures, bundle_path):
    b = read_bundle(bundle_path)
    pub, full = b.report, gate.report.to_dict()
    assert pub["public"] is True and pub["verdict"] == full["verdict"] and pub["counts"] == full["counts"]
    assert "fidelity" not in pub and "reviewers" in pub["fidelity_note"]
    assert pub["threshold_set"] == json.loads(json.dumps(full["threshold_set"]))  # tuples come back as lists
    assert [c["name"] for c in pub["checks"]] == [c["name"] for c in full["checks"]]
    for c in pub["checks"]:
        assert set(c) == {"name", "title", "group", "status", "threshold", "explanation"}
        assert c["explanation"] and c["threshold"]
    rel = pub["release"]
    assert rel["trained_on_children"] == about(figures.exact["training children"])
    assert rel["held_out_children"] == about(figures.exact["holdout children"])
    assert rel["trained_on_children"].startswith("about ") and rel["synthetic_children"] == SYNTHETIC_CHILDREN
    assert re.fullmatch(r"\d{4}-\d{2} to \d{4}-\d{2}", rel["window"])
    assert re.fullmatch(r"\d{4}-\d{2}", b.manifest["frontdoor"]["window"]["start"])
    assert b.map["window"] == b.manifest["frontdoor"]["window"]
    page = b.files["disclosure_report.html"].decode()
    assert "public version" in page and "Measure" not in page and "<svg" not in page
    assert "assessed by the council&#x27;s reviewers inside the service" in page
    card = b.files["README.md"].decode()
    assert rel["trained_on_children"] in card and "disclosure_report.html" in card
    # The full report, for reviewers and the data owner, is unchanged: exact, with measures and fidelity.
    assert full["release"]["trained_on_children"] == figures.exact["training children"]
    assert full["fidelity"] and all("metric" in c and "details" in c for c in full["checks"])


# -- a differentially private release: noisy counts only, each with its error bar --------------
@pytest.fixture(scope="module")
def private_bundle(real, tmp_path_factory):
    spec = TrainingSpec(seed=3, epsilon=1.0, window_start="2021-04-01", window_end="2025-03-31")
    model = fit_model(real, spec)
    out = tmp_path_factory.mktemp("nrf_dp") / "s"
    write_synthetic(out, model.sample(SYNTHETIC_CHILDREN, 3), model, 3)
    synthetic = read_dataset(out)
    gate = run_gate(real, synthetic, "default", release={"release_id": "r-dp", "version": 1})
    path = write_bundle(tmp_path_factory.mktemp("nrf_dp_bundle") / "b.zip", synthetic, gate.map_json, gate.report,
                        "r-dp", real.lineage_hash)
    return path, synthetic, gate


def test_a_private_bundle_carries_no_real_count_not_even_rounded(private_bundle, figures):
    """Under DP the public report gives the model's noisy count of training children, not the real one
    rounded to 10 (rounding is disclosure control, not differential privacy); no exact figure either."""
    path, synthetic, gate = private_bundle
    # Each measurement's epsilon is the budget times its public share: allowed, and nothing else.
    privacy = read_bundle(path).manifest["frontdoor"]["privacy"]
    shares = {m["epsilon"] for m in privacy["measurements"]}
    # The noisy count is the mechanism's output: should the noise land it on a real figure, that is chance.
    noisy = {privacy["training_children_noisy"]}
    found = Scanner(figures, synthetic_sizes(synthetic) | noisy, public=shares).bundle(path)
    assert not found, "real figures in the private bundle:\n" + "\n".join(map(str, found[:20]))
    with zipfile.ZipFile(path) as zf:
        text = {name: zf.read(name).decode() for name in zf.namelist()}
    rounded = {about(figures.exact["training children"]), about(figures.exact["holdout children"])}
    for name, body in text.items():
        for r in rounded:
            assert r not in body or r == "about 0", f"{r} (a rounded real count) in {name}"
    rel = json.loads(text["disclosure_report.json"])["release"]
    assert "trained_on_children" not in rel and "held_out_children" not in rel and "dataset_lineage" not in rel
    assert isinstance(rel["trained_on_children_dp"], int)
    manifest = json.loads(text["datapackage.json"])["frontdoor"]
    assert manifest["dataset_lineage_hash"] is None
    home = [m for m in manifest["privacy"]["measurements"] if m["what"] == "home teams"]
    assert home and home[0]["cells"] is None  # the number of teams is a real count: not published
    # The reviewers' report keeps the exact figures inside the service.
    assert gate.report.to_dict()["release"]["trained_on_children"] == figures.exact["training children"]


def test_a_private_bundle_explains_epsilon_and_gives_every_measurement_its_error_bar(private_bundle):
    path, _, _ = private_bundle
    b = read_bundle(path)
    privacy = b.manifest["frontdoor"]["privacy"]
    assert privacy["noise_library"] == "opendp" and privacy["epsilon"] == 1.0
    laplace = [m for m in privacy["measurements"] if m["mechanism"] == "laplace"]
    assert laplace and all(m["bound95"] == pytest.approx(m["scale"] * 2.9957, rel=1e-3) for m in laplace)
    card = b.files["README.md"].decode()
    assert "## Differential privacy" in card and "2.7 times more likely" in card
    assert all(m["what"] in card for m in privacy["measurements"])
    page = b.files["disclosure_report.html"].decode()
    assert 'id="differential-privacy"' in page and "95% error bound" in page
    assert b.manifest["frontdoor"]["window"] == {"start": "2021-04", "end": "2025-03"}  # declared, shown in months


# -- an aggregate release: real counts, but only through disclosure control -------------------
@pytest.fixture(scope="module")
def aggregate_bundle(real, tmp_path_factory):
    gate = run_aggregate_gate(real, "default", [], release={"release_id": "r-agg", "version": 1})
    return write_bundle(tmp_path_factory.mktemp("nrf_agg") / "a.zip", None, gate.map_json, gate.report, "r-agg",
                        real.lineage_hash)


def test_an_aggregate_bundle_carries_real_figures_only_through_disclosure_control(aggregate_bundle, figures):
    """map.json holds real counts, each through the profile's controls (checked here); every other number
    in it, and every number of the report, the data card and the datapackage, is scanned as for a synthetic
    bundle, with no synthetic sizes allowed."""
    scanner = Scanner(figures)
    with zipfile.ZipFile(aggregate_bundle) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert set(files) == {"datapackage.json", "map.json", "disclosure_report.json", "disclosure_report.html",
                          "README.md", "map.schema.json", "map_fields.md", "layout.json"}
    found = [f for name, data in files.items() for f in scanner.file(name, data)]
    assert not found, "real figures in the aggregate bundle:\n" + "\n".join(map(str, found[:20]))
    m = json.loads(files["map.json"])
    assert m["source"] == "real" and m["profile"]["name"] == "default"
    for view in m["views"].values():  # the exempt counts are controlled: withheld below 10, rounded
        assert view["children"] is None or view["children"] % 10 == 0
        for cell in (*view["nodes"], *view["edges"], *view["top_journeys"]):
            c = cell["children"]
            assert c is None or c == 0 or (c >= 10 and c % 5 == 0), cell
        for e in view["edges"]:
            assert e["moves"] is None or e["moves"] % 5 == 0
            assert e["median_days"] is None or not e["durations_suppressed"]
    # The scan can fail here too: a real size planted in the datapackage or the report is found.
    n = figures.exact["all children"]
    manifest = json.loads(files["datapackage.json"])
    assert scanner.file("datapackage.json", json.dumps({**manifest, "real": {"children": n}}).encode())
    assert scanner.file("disclosure_report.html", files["disclosure_report.html"].replace(
        b"</main>", f"<p>{n} children</p></main>".encode()))


def test_about_rounds_to_the_nearest_ten():
    assert [about(n) for n in (969, 531, 965, 1004, 12, 4)] == ["about 970", "about 530", "about 970", "about 1,000",
                                                                  "about 10", "fewer than 5"]


# -- the service: everything a developer can GET ---------------------------------------------
@pytest.fixture(scope="module")
def service(tmp_path_factory, council_xlsx):
    from tests.service.conftest import close_env, make_env, published_release

    env = make_env(tmp_path_factory.mktemp("nrf_svc"), "sqlite")
    try:
        ids = published_release(env, council_xlsx / "annex_a.xlsx", children=SYNTHETIC_CHILDREN)
        yield env, ids
    finally:
        close_env(env)


def _web_client(env, token: str):
    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"csrf_token": csrf, "token": token}).status_code == 302
    return client


def test_nothing_a_developer_can_get_from_the_service_carries_a_real_figure(service):
    env, ids = service
    rel = ids["release"]
    real = read_dataset(env.store.dataset_dir(ids["dataset"]))
    synthetic = read_dataset(env.store.release_dir(rel) / "synthetic")
    figures = RealFigures.of(real)
    scanner = Scanner(figures, synthetic_sizes(synthetic))
    assert not set(figures.exact.values()) & synthetic_sizes(synthetic), "sample another number of children"
    h, found, seen = env.h("dev"), [], []

    def get_json(url: str) -> dict:
        r = env.client.get(url, headers=h)
        assert r.status_code == 200, (url, r.status_code)
        seen.append(url)
        found.extend(scanner.json(url, r.get_json()))
        return r.get_json()

    listing = get_json("/api/v1/releases")
    assert [r["id"] for r in listing["releases"]] == [rel]
    get_json("/api/v1/releases?state=published")
    get_json(f"/api/v1/releases/{rel}")
    manifest = get_json(f"/api/v1/releases/{rel}/manifest")
    for name in manifest["frontdoor"]["files"]:
        r = env.client.get(f"/api/v1/releases/{rel}/files/{name}", headers=h)
        assert r.status_code == 200, name
        seen.append(name)
        found.extend(scanner.file(f"/files/{name}", r.data))
    r = env.client.get(f"/api/v1/releases/{rel}/bundle", headers=h)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        found.extend(f for name in zf.namelist() for f in scanner.file(f"bundle {name}", zf.read(name)))
    get_json("/api/v1/health")
    # The developer's web pages: the list of releases and the release's page.
    web = _web_client(env, env.tokens["dev"])
    for url in ("/releases", f"/releases/{rel}"):
        page = web.get(url)
        assert page.status_code == 200, url
        found.extend(scanner.file(f"web {url}.html", page.data))
    assert not found, "real figures a developer can get:\n" + "\n".join(map(str, found[:20]))
    # What carries real figures is not served to developers at all.
    for url in (f"/api/v1/releases/{rel}/report", f"/api/v1/releases/{rel}/report?format=json",
                f"/api/v1/models/{ids['model']}", f"/api/v1/datasets/{ids['dataset']}", "/api/v1/audit"):
        assert env.client.get(url, headers=h).status_code in (403, 404), url


def test_the_reviewers_report_in_the_service_stays_full(service):
    env, ids = service
    r = env.client.get(f"/api/v1/releases/{ids['release']}/report?format=json", headers=env.h("rev1"))
    assert r.status_code == 200
    report = r.get_json()
    assert report.get("public") is None and report["fidelity"]
    figures = RealFigures.of(read_dataset(env.store.dataset_dir(ids["dataset"])))
    assert report["release"]["trained_on_children"] == figures.exact["training children"]
    assert Scanner(figures).json("reviewer report", report)
