#!/usr/bin/env python3
"""Opens the two servers' pages in headless Chromium (Selenium) and uses them as a person would:
draws a 7 with pointer strokes and reads the page's answer, clears, draws a small 0 in a corner,
drops nothing else; fills the house-price form with its defaults and reads a finite price.
Screenshots of every step go to SCREENSHOT_DIR. Fails on a wrong answer or a browser console error.

Usage: check_pages.py DIGITS_URL HOUSE_PRICE_URL SCREENSHOT_DIR
"""
import math
import os
import sys

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from headless import chromium   # next to this script

digits_url, house_url, shots = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)

driver = chromium(1000, 760)
failures = []


def stroke(points, kind=interaction.POINTER_PEN):
    """One stroke through `points` (canvas pixels, 300×300) with a pen pointer."""
    canvas = driver.find_element(By.ID, "pad")
    size = canvas.size
    actions = ActionBuilder(driver, mouse=PointerInput(kind, "pen"))
    pointer = actions.pointer_action
    # Offsets are from the element's centre.
    def at(x, y):
        return x * size["width"] / 300 - size["width"] / 2, y * size["height"] / 300 - size["height"] / 2
    x, y = at(*points[0])
    pointer.move_to(canvas, int(x), int(y))
    pointer.pointer_down()
    for point in points[1:]:
        x, y = at(*point)
        pointer.move_to(canvas, int(x), int(y))
    pointer.pointer_up()
    actions.perform()


def answer(previous=None):
    label = driver.find_element(By.ID, "label")
    WebDriverWait(driver, 10).until(lambda d: label.get_attribute("data-label") not in (None, previous))
    return label.get_attribute("data-label")


def line(a, b, steps=12):
    return [(a[0] + (b[0] - a[0]) * t / steps, a[1] + (b[1] - a[1]) * t / steps) for t in range(steps + 1)]


try:
    driver.get(digits_url + "/")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "pad").is_displayed())
    # A 7: a bar across the top, then a diagonal down to the bottom left.
    stroke(line((80, 60), (220, 60)) + line((220, 60), (120, 250))[1:])
    seven = answer()
    driver.save_screenshot(f"{shots}/digits-seven.png")
    print(f"digits page: a drawn 7 reads as {seven}")
    if seven != "7":
        failures.append(f"a drawn 7 was read as {seven}")
    driver.find_element(By.ID, "clear").click()
    # A small 0 in the top-left corner, drawn as a ring of radius 22 px.
    ring = [(55 + 16 * math.cos(t / 20 * 2 * math.pi), 55 + 22 * math.sin(t / 20 * 2 * math.pi)) for t in range(21)]
    stroke(ring)
    zero = answer()
    driver.save_screenshot(f"{shots}/digits-small-zero.png")
    print(f"digits page: a small 0 in a corner reads as {zero}")
    if zero != "0":
        failures.append(f"a small 0 in a corner was read as {zero}")
    bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
    if len(bars) != 10:
        failures.append(f"{len(bars)} probability bars, not 10")

    driver.get(house_url + "/")
    WebDriverWait(driver, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fields input, #fields select")) > 0)
    fields = driver.find_elements(By.CSS_SELECTOR, "#fields input, #fields select")
    driver.find_element(By.ID, "predict").click()
    price = driver.find_element(By.ID, "price")
    WebDriverWait(driver, 10).until(lambda d: price.get_attribute("data-price"))
    value = float(price.get_attribute("data-price"))
    driver.save_screenshot(f"{shots}/house-price-form.png")
    print(f"house-price page: {len(fields)} fields from the schema; the default house is priced {price.text}")
    if not math.isfinite(value) or value <= 0:
        failures.append(f"the form's price is {value}")

    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    for entry in errors:
        failures.append("browser console: " + entry["message"])
finally:
    driver.quit()

if failures:
    print("pages: " + "; ".join(failures))
    sys.exit(1)
print("pages: both work in Chromium")
