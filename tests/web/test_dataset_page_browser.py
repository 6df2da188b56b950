"""In a real browser against a real server (issue 18.2): a data owner who uploads List 1 alone reads, above the
Train form, that the dataset cannot train the journey model and which lists are missing; the journey model
cannot be chosen; the page passes the accessibility check."""

from __future__ import annotations

import subprocess
import sys

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import needs_chromium
from tests.web.test_pages_browser import (  # noqa: F401 - fixtures used by name
    browser,
    check_accessibility,
    explain_failures,
    service,
    sign_in,
    submit,
    wait_job,
)

pytestmark = [pytest.mark.slow, needs_chromium]


def test_a_list_1_only_upload_says_why_it_cannot_train_before_the_train_button(service, browser, tmp_path):  # noqa: F811
    out = tmp_path / "csv"
    subprocess.run([sys.executable, "-m", "service.cli", "fixtures", "--children", "300", "--seed", "8", "--format",
                    "csv", "--out", str(out)], check=True, env=service["env"], stdout=subprocess.DEVNULL)
    d = browser
    sign_in(d, service["base"], service["tokens"]["olivia"])
    d.get(service["base"] + "/datasets")
    d.find_element(By.ID, "name").send_keys("Contacts only")
    d.find_element(By.ID, "file").send_keys(str(out / "list_1_contacts.csv"))
    submit(d, d.find_element(By.CSS_SELECTOR, "form[enctype] button[type=submit]"))
    wait_job(d)

    why = d.find_element(By.ID, "cannot-train")
    assert why.is_displayed() and "cannot train the journey model" in why.text and "List 8" in why.text
    missing = d.find_element(By.ID, "list-warnings")
    assert missing.is_displayed()
    assert "List 4 (Assessments) was not found in any file" in missing.text
    form = d.find_element(By.CSS_SELECTOR, "form[action$='/train']")
    assert why.location["y"] < missing.location["y"] < form.location["y"]
    journey = d.find_element(By.CSS_SELECTOR, "#generator option[value='journey']")
    assert not journey.is_enabled()
    assert d.find_element(By.ID, "generator").get_attribute("value") == "sdv-hma"
    check_accessibility(d, "dataset that cannot train")
