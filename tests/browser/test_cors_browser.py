"""CORS in a real browser: a page on another site reads the API with fetch(), and nothing else of the site."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.browser

FETCH = """async (url) => {
    try {
        const response = await fetch(url);
        return {status: response.status, body: await response.text()};
    } catch (error) {
        return {error: String(error)};
    }
}"""


class AnotherSite(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Another site</title><p>Another site</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_site_page(page):
    """A page of another origin: a plain web server of its own on another port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AnotherSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
    yield page
    server.shutdown()
    server.server_close()


def site(live_server):
    # The API at 127.0.0.1, the loopback address of the other site too: Chromium's rules on
    # public pages calling local addresses stay out of what is tested.
    return live_server.url.replace("localhost", "127.0.0.1")


def test_a_page_on_another_site_reads_the_api(other_site_page, live_server):
    result = other_site_page.evaluate(FETCH, site(live_server) + "/api/codes/M61.2")
    assert result.get("status") == 200 and '"code": "M61.2"' in result["body"], result
    result = other_site_page.evaluate(FETCH, site(live_server) + "/api/search?q=tennis%20elbow&limit=1")
    assert result["status"] == 200 and '"M77.1' in result["body"]


def test_a_page_on_another_site_cannot_read_the_rest(other_site_page, live_server):
    for path in ("/codes/M61.2/", "/search/?q=elbow", "/admin/login/"):
        result = other_site_page.evaluate(FETCH, site(live_server) + path)
        assert "error" in result and "Failed to fetch" in result["error"], path
