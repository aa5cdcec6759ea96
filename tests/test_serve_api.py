"""The web API of ``digitnet serve`` through the ASGI test client: every good and bad request, exact status codes."""

import base64
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip("fastapi", reason="digitnet serve needs the serve extra (fastapi)")
pytest.importorskip("httpx", reason="the ASGI test client needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from digitnet.cli import main  # noqa: E402
from digitnet.errors import DigitnetError  # noqa: E402
from digitnet.explain import explain  # noqa: E402
from digitnet.modelfile import load_model  # noqa: E402
from digitnet.reading import read_digits  # noqa: E402
from digitnet.serve.app import DEFAULT_MAX_UPLOAD_BYTES, create_app  # noqa: E402
from digitnet.serve.readers import ProcessReader  # noqa: E402
from digitnet.serve.server import listen  # noqa: E402

LOCAL = "http://127.0.0.1"  # the test client's default Host, "testserver", is not one the app answers to

# A "7" and a "1" as the page's canvas sends them: black strokes on white, fractions of a 720x360 pad.
SEVEN_ONE = [[(0.12, 0.2), (0.38, 0.2), (0.22, 0.85)], [(0.62, 0.18), (0.62, 0.85)]]


def canvas_png(strokes=SEVEN_ONE, size=(720, 360), width=22) -> bytes:
    image = Image.new("RGBA", size, "white")
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * size[0], y * size[1]) for x, y in stroke]
        draw.line(points, fill="black", width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def client(model):
    with TestClient(create_app(model), base_url=LOCAL) as client:
        yield client


def test_the_page_and_its_assets_are_served_by_the_app(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="pad"' in page.text
    for asset, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        response = client.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]


def test_the_page_needs_nothing_from_the_internet(client):
    for asset in ("/", "/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_model_describes_the_loaded_network(client, model):
    response = client.get("/api/model")
    assert response.status_code == 200
    description = response.json()
    assert description["layer_sizes"] == list(model.network.layer_sizes)
    assert description["hidden_sizes"] == list(model.network.layer_sizes[1:-1])
    assert description["parameters"] == sum(p.size for p in model.network.parameters)
    assert description["metadata"]["format"] == "digitnet-model"


def test_a_canvas_drawing_sent_as_the_raw_body_reads_seven_one(client, model):
    response = client.post("/api/read", content=canvas_png(), headers={"content-type": "image/png"})
    assert response.status_code == 200
    reply = response.json()
    assert reply["text"] == "71"
    assert [d["digit"] for d in reply["digits"]] == [7, 1]
    for digit in reply["digits"]:
        assert len(digit["probabilities"]) == len(model.classes) and abs(sum(digit["probabilities"]) - 1) < 1e-3
        assert np.array(digit["network_input"]).shape == (28, 28)
        assert [len(layer) for layer in digit["hidden_activations"]] == list(model.network.layer_sizes[1:-1])
        assert min(min(layer) for layer in digit["hidden_activations"]) >= 0  # ReLU outputs
    assert "annotated_image" not in reply


def test_the_reply_is_predict_json_plus_what_the_network_saw(client, model):
    png = canvas_png()
    reply = client.post("/api/read", content=png).json()
    reading = read_digits(png, model)
    extras = ("network_input", "hidden_activations")
    assert {**reply, "digits": [{k: v for k, v in d.items() if k not in extras} for d in reply["digits"]]} \
        == reading.to_dict("upload")
    for entry, digit in zip(reply["digits"], reading.digits):
        np.testing.assert_allclose(entry["network_input"], digit.network_input, atol=5e-4)
        x = digit.network_input.reshape(1, 784).astype(model.network.dtype)
        for sent, computed in zip(entry["hidden_activations"], model.network.hidden_activations(x)):
            np.testing.assert_allclose(sent, computed[0], atol=5e-4)


def test_explain_adds_the_explanation_the_library_computes_for_each_digit(client, model):
    png = canvas_png()
    plain = client.post("/api/read", content=png).json()
    reply = client.post("/api/read?explain=true", content=png).json()
    assert "explanation" not in plain["digits"][0]
    assert [{k: v for k, v in d.items() if k != "explanation"} for d in reply["digits"]] == plain["digits"]
    for entry, digit in zip(reply["digits"], read_digits(png, model).digits):
        sent, computed = entry["explanation"], explain(model, digit.network_input)
        assert [u["unit"] for u in sent["units"]] == computed.units.tolist()
        np.testing.assert_allclose([u["activation"] for u in sent["units"]], computed.activations, atol=5e-4)
        np.testing.assert_allclose([u["weights"] for u in sent["units"]], computed.weights, atol=5e-5)
        np.testing.assert_allclose(sent["saliency"], computed.saliency, rtol=5e-3)
        runner_up = sent["runner_up"]
        assert runner_up["digit"] == computed.runner_up.digit != entry["digit"]
        assert runner_up["reached"] and runner_up["probability_after"] > runner_up["probability"]
        np.testing.assert_allclose(runner_up["change"], computed.runner_up.change, atol=5e-4)


def test_a_multipart_upload_is_named_after_its_file_and_can_be_annotated(client):
    files = {"file": ("my digits.png", canvas_png(), "image/png")}
    response = client.post("/api/read?annotate=true", files=files)
    assert response.status_code == 200
    reply = response.json()
    assert reply["image"] == "my digits.png" and reply["text"] == "71"
    prefix = "data:image/png;base64,"
    assert reply["annotated_image"].startswith(prefix)
    annotated = Image.open(io.BytesIO(base64.b64decode(reply["annotated_image"][len(prefix):])))
    assert annotated.size == (720, 360)
    # red boxes are drawn where the plain drawing is only black and white
    colours = np.asarray(annotated.convert("RGB")).reshape(-1, 3)
    assert (colours.max(axis=1) - colours.min(axis=1) > 100).any()


def test_a_blank_page_reads_no_digits(client):
    response = client.post("/api/read", content=encoded(Image.new("L", (300, 200), 255)))
    assert response.status_code == 200
    assert response.json()["digits"] == [] and response.json()["text"] == ""


def test_an_image_over_the_upload_limit_gets_413(model):
    png = canvas_png()
    with TestClient(create_app(model, max_upload_bytes=len(png) - 1), base_url=LOCAL) as small:
        assert small.post("/api/read", content=png).status_code == 413
        response = small.post("/api/read", files={"file": ("big.png", png, "image/png")})
        assert response.status_code == 413 and "upload limit" in response.json()["detail"]
    with TestClient(create_app(model, max_upload_bytes=len(png)), base_url=LOCAL) as exact:
        assert exact.post("/api/read", files={"file": ("fits.png", png, "image/png")}).status_code == 200


def test_the_default_limit_is_ten_mebibytes(client):
    assert DEFAULT_MAX_UPLOAD_BYTES == 10 * 2**20
    assert client.post("/api/read", content=b"\0" * (DEFAULT_MAX_UPLOAD_BYTES + 1)).status_code == 413


@pytest.mark.parametrize("body, message", [
    (b"this is not an image", "not an image"),
    (b"%PDF-1.4\n" + bytes(range(256)) * 8, "not an image"),
    (canvas_png()[:400], "truncated"),
])
def test_unreadable_images_get_400_with_a_clear_message(client, body, message):
    response = client.post("/api/read", files={"file": ("bad.png", body, "image/png")})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("bad.png: ") and message in detail and "\n" not in detail


def test_a_decompression_bomb_gets_400(client):
    bomb = encoded(Image.new("1", (12_000, 12_000), 1))  # 144 Mpx in a few kB
    assert len(bomb) < DEFAULT_MAX_UPLOAD_BYTES
    response = client.post("/api/read", content=bomb)
    assert response.status_code == 400 and "pixels" in response.json()["detail"]


def test_a_tiny_image_gets_400(client):
    assert client.post("/api/read", content=encoded(Image.new("L", (4, 4), 255))).status_code == 400


@pytest.mark.parametrize("request_kwargs", [
    {"content": b""},
    {"files": {"picture": ("x.png", b"png bytes", "image/png")}},
    {"files": {"file": ("x.png", b"", "image/png")}},
], ids=["empty body", "wrong field name", "file field empty"])
def test_a_request_without_an_image_gets_422(client, request_kwargs):
    response = client.post("/api/read", **request_kwargs)
    assert response.status_code == 422 and "no image" in response.json()["detail"]


def test_a_multipart_body_without_a_boundary_gets_400(client):
    response = client.post("/api/read", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert response.status_code == 400 and "boundary" in response.json()["detail"]


@pytest.mark.parametrize("flag", ["annotate", "explain"])
def test_a_malformed_flag_gets_422(client, flag):
    assert client.post(f"/api/read?{flag}=perhaps", content=canvas_png()).status_code == 422


def test_wrong_method_gets_405_and_wrong_path_404(client):
    assert client.get("/api/read").status_code == 405
    assert client.put("/api/read", content=canvas_png()).status_code == 405
    assert client.post("/api/model").status_code == 405
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/static/missing.js").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_uploads_are_never_written_to_disk(client, monkeypatch):
    def no_disk(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    large = encoded(Image.fromarray(noise))  # > 1 MiB: bigger than the usual in-memory spool
    assert len(large) > 2**20
    assert client.post("/api/read", files={"file": ("large.png", large, "image/png")}).status_code == 200


def test_openapi_docs_describe_the_api_without_loading_anything_from_elsewhere(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/read" in docs.text
    assert "<script" not in docs.text and "http" not in docs.text.replace('href="/openapi.json"', "")
    schema = client.get("/openapi.json").json()
    assert {"/api/read", "/api/model"} <= set(schema["paths"])
    assert "multipart/form-data" in schema["paths"]["/api/read"]["post"]["requestBody"]["content"]


def test_serve_refuses_a_port_out_of_range_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "70000"])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_serve_refuses_a_missing_model_in_one_line(tmp_path, capsys):
    assert main(["serve", "--port", "0", "--model", str(tmp_path / "none.npz")]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_listening_on_a_busy_port_is_a_clear_error():
    with listen("127.0.0.1", 0) as busy:
        with pytest.raises(DigitnetError, match="cannot listen on 127.0.0.1"):
            listen("127.0.0.1", busy.getsockname()[1])


def test_serve_without_the_web_packages_says_how_to_install_them(monkeypatch, capsys):
    # As if uvicorn were not installed: importing it fails, and so does (re)importing the module that needs it.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.delitem(sys.modules, "digitnet.serve.server", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == "digitnet serve: error: uvicorn is not installed: pip install 'digitnet[serve]'"


@pytest.fixture
def reader_processes(model):
    reader = ProcessReader(model, 2)
    yield reader, reader.pids
    reader.close()


def test_reader_processes_answer_as_the_reading_thread_does(model, client, reader_processes):
    reader, children = reader_processes
    assert len(children) == 2
    with TestClient(create_app(model, reader=reader), base_url=LOCAL) as pooled:
        png = canvas_png()
        for query in ("", "?explain=true"):
            assert pooled.post(f"/api/read{query}", content=png).json() == \
                client.post(f"/api/read{query}", content=png).json()
        bad = pooled.post("/api/read", content=b"not an image at all")
        assert bad.status_code == 400 and "is not an image file" in bad.json()["detail"]


def test_reader_processes_that_die_while_idle_cost_nothing_and_are_replaced(model, reader_processes):
    reader, pids = reader_processes
    with TestClient(create_app(model, reader=reader), base_url=LOCAL) as pooled:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # dead before the request (not yet reaped)
        assert pooled.post("/api/read", content=canvas_png()).json()["text"] == "71"
        assert pooled.post("/api/read", content=canvas_png()).json()["text"] == "71"
    assert len(reader.pids) == 2 and set(reader.pids) != set(pids)  # the one used was replaced


def test_serve_with_reader_processes_reads_and_stops_cleanly_on_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "digitnet", "serve", "--port", "0", "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split()[2]
        request = urllib.request.Request(f"{url}api/read", data=canvas_png(), headers={"content-type": "image/png"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["text"] == "71"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
