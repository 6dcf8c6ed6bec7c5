#!/usr/bin/env python3
"""Opens HTML reports in headless Chromium (Selenium) and checks them as a reader would see them:
the page loads without console errors, every expected chart is there (an SVG and a caption each),
galleries hold the expected number of images, and the headline numbers equal the JSON that the
same command printed. Saves a full-page screenshot of each and prints its size and load time.

Usage: check_reports.py SCREENSHOT_DIR SPEC.json
SPEC: [{"file": path, "name": label, "charts": [names], "headline": {key: value}, "galleries": {name: count}}]
"""
import json
import math
import os
import sys

from selenium.webdriver.common.by import By

from headless import chromium   # next to this script

shots, spec = sys.argv[1], json.load(open(sys.argv[2]))
os.makedirs(shots, exist_ok=True)
driver = chromium(1000, 900)
failures = []
try:
    for report in spec:
        name = report["name"]
        driver.get("file://" + os.path.abspath(report["file"]))
        timing = driver.execute_script("const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime;")
        figures = driver.find_elements(By.CSS_SELECTOR, "figure.chart")
        found = [f.get_attribute("data-chart") for f in figures]
        for chart in report["charts"]:
            if chart not in found:
                failures.append(f"{name}: no chart {chart} (found {found})")
        for figure in figures:
            if not figure.find_elements(By.TAG_NAME, "svg") or not figure.find_element(By.TAG_NAME, "figcaption").text.strip():
                failures.append(f"{name}: chart {figure.get_attribute('data-chart')} lacks its SVG or caption")
        for key, expected in report["headline"].items():
            cells = driver.find_elements(By.CSS_SELECTOR, f'dd[data-key="{key}"]')
            if not cells:
                failures.append(f"{name}: no headline {key}")
            elif not math.isclose(float(cells[0].get_attribute("data-value")), float(expected), rel_tol=1e-12, abs_tol=1e-12):
                failures.append(f"{name}: headline {key} is {cells[0].get_attribute('data-value')}, the JSON says {expected}")
        for gallery, count in report.get("galleries", {}).items():
            items = driver.find_elements(By.CSS_SELECTOR, f'[data-gallery="{gallery}"] .item')
            if len(items) != count:
                failures.append(f"{name}: gallery {gallery} holds {len(items)} images, expected {count}")
        width, height = driver.execute_script("return [document.body.scrollWidth, document.body.scrollHeight];")
        driver.set_window_size(1000, min(height + 40, 16000))
        driver.save_screenshot(os.path.join(shots, name + ".png"))
        driver.set_window_size(1000, 900)
        size = os.path.getsize(report["file"])
        print(f"{name}: {len(found)} charts, {size / 1024:.0f} KB, loaded in {timing:.0f} ms")
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                failures.append(f"{name}: browser console: {entry['message']}")
finally:
    driver.quit()
if failures:
    print("reports: " + "; ".join(failures))
    sys.exit(1)
print("reports: all open cleanly and agree with the JSON")
