"""The web pages in a real headless Chromium against a real running service: the data owner's and
the reviewers' journeys end to end, the rules, CSRF, and an accessibility check (axe-core)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.conftest import needs_chromium
from tests.viewer.conftest import chrome, free_port

pytestmark = [pytest.mark.slow, needs_chromium]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


def axe_source() -> str:
    if not AXE.exists():
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(AXE.parents[2]),
                        "axe-core@4"], check=True, timeout=300)
    return AXE.read_text()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    data = tmp_path_factory.mktemp("web_service")
    env = {**os.environ, "FRONTDOOR_DATA_DIR": str(data), "FRONTDOOR_PSEUDONYM_KEY": "w" * 40}
    env.pop("FRONTDOOR_REDIS_URL", None)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/api/v1/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    tokens = {}
    for name, role in (("olivia", "data_owner"), ("rita", "reviewer"), ("raj", "reviewer"), ("dev", "developer"),
                       ("ada", "admin")):
        out = subprocess.run([sys.executable, "-m", "service.cli", "users", "add", name, "--role", role], env=env,
                             capture_output=True, text=True, check=True).stdout
        tokens[name] = out.strip().splitlines()[-1]
    council = data / "council"
    subprocess.run([sys.executable, "-m", "service.cli", "fixtures", "--children", "700", "--seed", "4", "--out",
                    str(council)], check=True, env=env, stdout=subprocess.DEVNULL)
    yield {"base": base, "tokens": tokens, "council": council / "annex_a.xlsx", "env": env}
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    driver = chrome()
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def explain_failures(request, browser):
    """When a step fails, say where the browser was and what the page said."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            print("URL:", browser.current_url)
            print(browser.find_element(By.TAG_NAME, "body").text[:3000])
        except Exception:  # noqa: BLE001 - best effort only
            pass


AXE_RESULTS: dict[str, list] = {}


def check_accessibility(driver, page: str) -> None:
    driver.execute_script(axe_source())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)));")
    serious = [v["id"] for v in json.loads(result) if v["impact"] in ("serious", "critical")]
    AXE_RESULTS[page] = serious
    assert serious == [], f"{page}: {serious}"


def submit(driver, element) -> None:
    """Click something that sends a form, and wait until the next page has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    marker = driver.execute_script("return window.__page = Math.random()")

    def replaced(d) -> bool:
        try:  # a new page has no marker; mid-navigation, the old document may answer with errors
            return d.execute_script("return window.__page") != marker and \
                d.execute_script("return document.readyState") == "complete"
        except WebDriverException:
            return False

    element.click()
    WebDriverWait(driver, 60).until(replaced)


def sign_in(driver, base: str, token: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "token").send_keys(token)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))


def sign_out(driver) -> None:
    submit(driver, driver.find_element(By.CSS_SELECTOR, "header form button"))


def wait_job(driver, timeout: float = 300) -> str:
    """Wait on a job's page (it refreshes itself) until the job ends; go on to what it made."""
    url = driver.current_url
    deadline = time.time() + timeout
    from selenium.common.exceptions import WebDriverException

    while time.time() < deadline:
        driver.get(url)
        try:  # the page refreshes itself while the job runs; a refresh may land mid-read
            status = driver.find_element(By.ID, "job-status").text.lower()
        except WebDriverException:
            time.sleep(0.5)
            continue
        if status in ("succeeded", "failed"):
            assert status == "succeeded", driver.find_element(By.TAG_NAME, "main").text
            target = driver.find_element(By.ID, "job-next").get_attribute("href")
            driver.get(target)
            return target
        time.sleep(1)
    raise AssertionError("the job did not finish")


def _store(service):
    from service.config import load_config
    from service.store import Store

    return Store(load_config({"DATA_DIR": service["env"]["FRONTDOOR_DATA_DIR"]}))


def audit_actions(service, release_id: str) -> list[str]:
    """The release's audit trail, read from the service's database (not through a page, which would add to it)."""
    store = _store(service)
    try:
        with store.read() as s:
            return [e.action for e in store.audit_events(s, 1, object_type="release", object_id=release_id)]
    finally:
        store.dispose()


def with_review_items(service, release_id: str) -> list[dict]:
    """The checks of the release's report that need judgement. The gate's real verdicts are used when it left
    any to review; otherwise one real check is marked review in the stored report and on the release, so that
    the reviewers' part always has items to find."""
    from service.orm import Release

    store = _store(service)
    try:
        path = store.report_path(release_id, "json")
        report = json.loads(path.read_text())
        if not any(c["status"] == "review" for c in report["checks"]):
            report["checks"][0]["status"], report["verdict"] = "review", "review"
            report["counts"] = {x: sum(c["status"] == x for c in report["checks"]) for x in ("pass", "review", "fail")}
            path.write_text(json.dumps(report))
            with store.write() as s:
                store.get(s, Release, release_id).verdict = "review"
        return [c for c in report["checks"] if c["status"] == "review"]
    finally:
        store.dispose()


def header_says(driver, name: str, role: str) -> None:
    who = driver.find_element(By.CSS_SELECTOR, "header .who").text
    assert name in who and role in who


def test_owner_reviewers_and_developer_journeys_end_to_end(service, browser):
    base, tokens = service["base"], service["tokens"]
    d = browser
    d.get(base + "/")
    assert d.current_url.endswith("/login")
    check_accessibility(d, "login")
    # The data owner uploads, trains and requests a release.
    sign_in(d, base, tokens["olivia"])
    header_says(d, "olivia", "data owner")
    check_accessibility(d, "datasets")
    d.find_element(By.ID, "name").send_keys("Council A, 2021-2025")
    d.find_element(By.ID, "file").send_keys(str(service["council"]))
    submit(d, d.find_element(By.CSS_SELECTOR, "form[enctype] button[type=submit]"))
    job_url = d.current_url
    wait_job(d)
    assert "Validation report" in d.page_source
    check_accessibility(d, "dataset")
    submit(d, d.find_element(By.CSS_SELECTOR, "form[action$='/train'] button"))
    wait_job(d)
    check_accessibility(d, "model")
    d.find_element(By.ID, "children").send_keys("700")
    d.find_element(By.ID, "purpose").send_keys("A map of front-door journeys for the university's study.")
    d.find_element(By.ID, "recipients").send_keys("Dr A. Smith, University of Somewhere")
    submit(d, d.find_element(By.CSS_SELECTOR, "form[action$='/release'] button"))
    release_url = wait_job(d)
    assert d.find_element(By.ID, "release-state").text.lower() == "awaiting review"
    assert not d.find_elements(By.ID, "review-form")  # the requester never sees a review form
    d.get(job_url)
    check_accessibility(d, "job")
    sign_out(d)
    # Two reviewers, one after the other, read the findings and approve, saying how they judged the items.
    rid = release_url.rsplit("/", 1)[1]
    review_items = with_review_items(service, rid)
    for reviewer in ("rita", "raj"):
        sign_in(d, base, tokens[reviewer])
        header_says(d, reviewer, "reviewer")
        seen = audit_actions(service, rid)
        submit(d, d.find_element(By.LINK_TEXT, rid))
        assert audit_actions(service, rid)[len(seen):] == ["release.report_read"]  # one row per page view
        assert not d.find_elements(By.TAG_NAME, "iframe")
        assert "Purpose" in d.page_source and "University of Somewhere" in d.page_source
        form_y = d.find_element(By.ID, "review-form").location["y"]
        for check in review_items:  # every item that needs judgement, named above the decision form
            item = d.find_element(By.ID, f"review-{check['name']}")
            assert item.location["y"] < form_y, (check["name"], item.location, form_y)
            assert check["title"] in item.text and check["guidance"]["look_for"] in item.text
        check_accessibility(d, f"release ({reviewer})")
        d.find_element(By.CSS_SELECTOR, "input[value=approve]").click()
        if reviewer == "rita":  # no comment: the browser asks for one; past it, the service refuses
            d.execute_script("document.getElementById('comment').removeAttribute('required')")
            submit(d, d.find_element(By.ID, "submit-review"))
            assert "need your judgement" in d.find_element(By.CLASS_NAME, "error-summary").text
            d.find_element(By.CSS_SELECTOR, "input[value=approve]").click()
        d.find_element(By.ID, "comment").send_keys(f"{reviewer}: judged " + "; ".join(c["title"] for c in review_items))
        submit(d, d.find_element(By.ID, "submit-review"))
        assert "Your review has been recorded" in d.page_source, d.find_element(By.TAG_NAME, "main").text[:600]
        assert not d.find_elements(By.ID, "review-form")  # not twice
        sign_out(d)
    # The owner publishes.
    sign_in(d, base, tokens["olivia"])
    d.get(release_url)
    assert d.find_element(By.ID, "release-state").text.lower() == "approved"
    submit(d, d.find_element(By.ID, "publish"))
    assert d.find_element(By.ID, "release-state").text.lower() == "published"
    sign_out(d)
    # A developer downloads it through the API.
    r = requests.get(f"{base}/api/v1/releases/{rid}/bundle", headers={"Authorization": f"Bearer {tokens['dev']}"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    # The audit page shows the trail and its verification.
    sign_in(d, base, tokens["ada"])
    d.get(base + "/audit")
    assert "is intact" in d.find_element(By.ID, "chain-status").text
    check_accessibility(d, "audit")
    sign_out(d)


def test_a_reviewer_cannot_approve_their_own_request(service, browser):
    """Make a reviewer the requester of a release (as if they had asked for it): no button, POST refused."""
    base, tokens = service["base"], service["tokens"]
    from service.config import load_config
    from service.orm import Release, User
    from service.store import Store

    store = Store(load_config({"DATA_DIR": service["env"]["FRONTDOOR_DATA_DIR"]}))
    with store.write() as s:
        rita = s.query(User).filter_by(name="rita").one()
        model_id = s.query(Release).first().model_id
        s.add(Release(id="ownrequest01", council_id=1, model_id=model_id, requester_id=rita.id, children=10, profile="default",
                      purpose="p", recipients="r", state="awaiting_review"))
    store.dispose()
    d = browser
    sign_in(d, base, tokens["rita"])
    d.get(f"{base}/releases/ownrequest01")
    assert not d.find_elements(By.ID, "review-form")
    csrf = d.find_element(By.CSS_SELECTOR, "header input[name=csrf_token]").get_attribute("value")
    cookies = {c["name"]: c["value"] for c in d.get_cookies()}
    r = requests.post(f"{base}/releases/ownrequest01/review", cookies=cookies,
                      data={"csrf_token": csrf, "decision": "approve", "comment": ""})
    assert r.status_code == 403 and "you requested this release" in r.text
    # A form post without its CSRF token is refused.
    r = requests.post(f"{base}/releases/ownrequest01/review", cookies=cookies, data={"decision": "approve"})
    assert r.status_code == 400 and "could not be accepted" in r.text
    sign_out(d)


def test_a_developer_signing_in_sees_no_datasets(service, browser):
    d = browser
    sign_in(d, service["base"], service["tokens"]["dev"])
    header_says(d, "dev", "developer")
    assert not d.find_elements(By.LINK_TEXT, "Datasets")
    d.get(service["base"] + "/datasets")
    assert "may not do this" in d.page_source
    d.get(service["base"] + "/releases")
    assert "Council A" not in d.page_source
    sign_out(d)


def test_wrong_tokens_missing_fields_and_double_submissions(service, browser):
    d = browser
    sign_in(d, service["base"], "fd_not-a-real-token")
    assert "not valid or has expired" in d.page_source
    sign_in(d, service["base"], service["tokens"]["olivia"])
    d.get(service["base"] + "/datasets")
    d.find_element(By.ID, "name").send_keys("Kept name")
    d.execute_script("document.getElementById('name').removeAttribute('required')")
    submit(d, d.find_element(By.CSS_SELECTOR, "form[enctype] button[type=submit]"))
    assert "attach at least one Annex A file" in d.page_source
    assert d.find_element(By.ID, "name").get_attribute("value") == "Kept name"
    bad = Path(__file__).resolve().parents[2] / "fixtures" / "bad" / "wrong_headers.csv"
    d.find_element(By.ID, "file").send_keys(str(bad))
    submit(d, d.find_element(By.CSS_SELECTOR, "form[enctype] button[type=submit]"))
    assert "wrong_headers.csv" in d.find_element(By.CLASS_NAME, "error-summary").text
    # The same form sent twice is done once.
    csrf = d.find_element(By.CSS_SELECTOR, "header input[name=csrf_token]").get_attribute("value")
    cookies = {c["name"]: c["value"] for c in d.get_cookies()}
    s = requests.Session()
    s.cookies.update(cookies)
    form = {"csrf_token": csrf, "form_id": "same-form-123", "reason": "dup"}
    first = s.post(f"{service['base']}/logout", data=form, allow_redirects=False)
    second = s.post(f"{service['base']}/logout", data=form, allow_redirects=False)
    assert first.status_code == 302 and second.status_code in (302, 400)
    d.delete_all_cookies()
    assert re.search("Sign in", requests.get(f"{service['base']}/login").text)
