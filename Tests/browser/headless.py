"""Debian's Chromium, headless, through chromedriver, as the browser checks use it."""
from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(width, height):
    """A driver for a window of width × height that keeps the page's console messages."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
