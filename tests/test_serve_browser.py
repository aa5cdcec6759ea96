"""The page of ``digitnet serve`` in a real browser: Debian's Chromium driven by Playwright.

A server runs on a free loopback port; the test draws a 7 and a 1 as mouse strokes, reads the answer
and the probability bars off the page, uploads an example photo, and saves screenshots as artifacts
in ``$DIGITNET_ARTIFACTS`` (default: a pytest temporary directory). ``make serve-figure`` copies
serve.png from there to docs/figures for README.
"""

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EXAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "examples" / "shadow-noise-photo.jpg"
# Strokes as fractions of the drawing pad: a 7 on the left, a 1 on the right.
SEVEN_ONE = [[(0.12, 0.2), (0.38, 0.2), (0.22, 0.85)], [(0.62, 0.18), (0.62, 0.85)]]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("fastapi", reason="digitnet serve needs the serve extra (fastapi)")

from digitnet.modelfile import load_model  # noqa: E402
from digitnet.reading import read_digits  # noqa: E402
from digitnet.serve.app import create_app  # noqa: E402
from digitnet.serve.server import listen, url_of, uvicorn_server  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def server_url(model):
    """The app served on a free loopback port in a background thread, for the whole module."""
    sock = listen("127.0.0.1", 0)
    server = uvicorn_server(create_app(model))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield url_of(sock)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("DIGITNET_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, url, width, height, scale=1):
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    page.goto(url)
    return page, errors


def draw(page, strokes):
    """Draw strokes (lists of (x, y) fractions of the pad) with the mouse, as a person would."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=15)
        page.mouse.up()


def probability_bars(card):
    bars = card.locator(".prob")
    return [(int(bars.nth(i).get_attribute("data-digit")), float(bars.nth(i).get_attribute("data-probability")))
            for i in range(bars.count())]


def test_drawing_seven_one_shows_the_answer_bars_input_and_activations(browser, server_url, artifacts, model):
    sizes = model.network.layer_sizes  # of the dense layers, whose units the page shows
    page, errors = open_page(browser, server_url, 1280, 900)
    sync_api.expect(page.locator("#model-info")).to_contain_text(model.network.architecture)
    draw(page, SEVEN_ONE)
    sync_api.expect(page.locator("#text")).to_have_text("71", timeout=10_000)
    cards = page.locator("#digits .card")
    sync_api.expect(cards).to_have_count(2)
    for i, expected in enumerate((7, 1)):
        card = cards.nth(i)
        assert card.get_attribute("data-digit") == str(expected)
        bars = probability_bars(card)
        assert [digit for digit, _ in bars] == list(range(len(model.classes)))
        assert max(bars, key=lambda bar: bar[1])[0] == expected
        assert abs(sum(p for _, p in bars) - 1) < 0.01
        assert card.locator(".prob.best").get_attribute("data-digit") == str(expected)
        assert card.locator(".input-image").count() == 1
        assert card.locator(".heat-strip").count() == len(sizes) - 2
        assert f"of {sizes[1]} units active" in card.locator(".heat figcaption").first.text_content()
    page.screenshot(path=artifacts / "serve.png", full_page=True)

    page.locator("#undo").click()  # the 1 goes, the 7 stays
    sync_api.expect(page.locator("#text")).to_have_text("7", timeout=10_000)
    page.locator("#clear").click()
    sync_api.expect(page.locator("#text")).to_have_text("")
    sync_api.expect(cards).to_have_count(0)
    assert errors == []


def canvas_pixels(locator):
    """A canvas's pixels as a data URL: equal URLs, equal pictures."""
    return locator.evaluate("canvas => canvas.toDataURL()")


def test_each_digit_shows_why_and_the_views_follow_the_drawing(browser, server_url, artifacts):
    page, errors = open_page(browser, server_url, 1280, 1100)
    draw(page, SEVEN_ONE[:1])
    sync_api.expect(page.locator("#text")).to_have_text("7", timeout=10_000)
    card = page.locator("#digits .card").first
    for view in (".saliency", ".nudge"):
        sync_api.expect(card.locator(view)).to_be_visible()
    sync_api.expect(card.locator(".unit-weights")).to_have_count(8)
    assert "what raised p(7)" in card.locator(".saliency-caption").text_content()
    runner_up = card.get_attribute("data-runner-up")
    assert runner_up != "7" and f"why not {runner_up}?" in card.locator(".nudge-caption").text_content()
    seven = {"units": card.get_attribute("data-units"), "saliency": canvas_pixels(card.locator(".saliency")),
             "weights": canvas_pixels(card.locator(".unit-weights").first)}
    blank = page.evaluate("() => { const c = document.createElement('canvas'); c.width = c.height = 28;"
                          " return c.toDataURL(); }")
    assert blank not in seven.values()

    page.locator("#clear").click()
    draw(page, [[(0.3, 0.15), (0.3, 0.85)]])  # now a 1
    sync_api.expect(page.locator("#text")).to_have_text("1", timeout=10_000)
    card = page.locator("#digits .card").first
    assert "what raised p(1)" in card.locator(".saliency-caption").text_content()
    one = {"units": card.get_attribute("data-units"), "saliency": canvas_pixels(card.locator(".saliency")),
           "weights": canvas_pixels(card.locator(".unit-weights").first)}
    assert all(one[view] != seven[view] for view in seven)

    legend = page.locator("#legend")
    sync_api.expect(legend).to_be_visible()
    terms = [term.strip() for term in legend.locator("dt").all_text_contents()]
    assert terms == ["28×28 input", "probabilities", "hidden layers", "what raised p", "why not", "units"]
    assert legend.locator(".swatch").count() >= 12
    assert errors == []


def test_drawing_with_a_finger_draws_and_never_scrolls_the_page(browser, server_url):
    page = browser.new_page(viewport={"width": 390, "height": 500}, device_scale_factor=2, has_touch=True,
                            is_mobile=True)
    page.goto(server_url)
    assert page.evaluate("document.documentElement.scrollHeight") > 500  # there is a page to scroll
    assert page.locator("#pad").evaluate("pad => getComputedStyle(pad).touchAction") == "none"
    box = page.locator("#pad").bounding_box()
    x = box["x"] + 0.5 * box["width"]
    touch = page.context.new_cdp_session(page)
    # upwards: a finger moving up would scroll the page down, away from scrollY 0
    for kind, fraction in [("touchStart", 0.85)] + [("touchMove", 0.85 - 0.05 * i) for i in range(1, 14)]:
        point = {"x": x, "y": box["y"] + fraction * box["height"]}
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    sync_api.expect(page.locator("#text")).to_have_text("1", timeout=10_000)
    assert page.evaluate("window.scrollY") == 0


def test_uploading_a_photo_shows_its_digits_and_the_annotated_image(browser, server_url, model, artifacts):
    expected = read_digits(EXAMPLE_PHOTO, model).text
    page, errors = open_page(browser, server_url, 1280, 1000)
    draw(page, SEVEN_ONE)
    sync_api.expect(page.locator("#text")).to_have_text("71", timeout=10_000)
    page.locator("#file").set_input_files(EXAMPLE_PHOTO)
    sync_api.expect(page.locator("#text")).to_have_text(expected, timeout=10_000)
    sync_api.expect(page.locator("#digits .card")).to_have_count(len(expected))
    sync_api.expect(page.locator("#digits .card .saliency")).to_have_count(len(expected))  # explained too
    sync_api.expect(page.locator("#annotated")).to_be_visible()
    assert page.locator("#annotated-image").evaluate("img => img.complete && img.naturalWidth") > 0
    assert EXAMPLE_PHOTO.name in page.locator("#annotated-caption").text_content()
    page.wait_for_timeout(1000)  # a read of the drawing must not come back over the photo's
    assert page.locator("#text").text_content() == expected
    page.screenshot(path=artifacts / "serve-photo.png", full_page=True)
    assert errors == []


def test_a_bad_upload_shows_the_servers_message(browser, server_url, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not really a picture")
    page, errors = open_page(browser, server_url, 1280, 900)
    page.locator("#file").set_input_files(not_an_image)
    sync_api.expect(page.locator("#status")).to_contain_text("notes.png: is not an image", timeout=10_000)
    assert errors == []


def test_the_page_fits_a_phone_screen_and_reads_a_drawing_there(browser, server_url, artifacts):
    page, errors = open_page(browser, server_url, 390, 844, scale=2)
    draw(page, SEVEN_ONE)
    sync_api.expect(page.locator("#text")).to_have_text("71", timeout=10_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.screenshot(path=artifacts / "serve-phone.png", full_page=True)
    assert errors == []
