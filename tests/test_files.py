"""Uploaded files: product images and purchase-invoice PDFs, checked by content, served back byte for byte."""

import hashlib
import io
import struct
import zlib
from urllib.parse import urlsplit

import httpx
import pytest
from fpdf import FPDF
from PIL import Image

from conftest import KEY, services

MB = 1024 * 1024
PRODUCT = 1


def png_bytes(rgb=(200, 30, 30)) -> bytes:
    """A valid 1×1 truecolour PNG, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8 bits, RGB
    raw = b"\x00" + bytes(rgb)  # filter byte + one pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), (10, 120, 240)).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf_bytes(text: str = "Facture fournisseur F-2026-042") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def upload(client, url: str, data: bytes, name: str, media_type: str = "application/octet-stream"):
    return client.post(url, files={"file": (name, data, media_type)})


@pytest.fixture
def frozen(client):
    """The tenant's clock frozen late on 10 March UTC: already the 11th in Paris."""
    assert client.put("/_mock/clock", json={"now": "2026-03-10T23:30:00Z", "frozen": True}).status_code == 200
    return client


def test_png_image_is_stored_and_served_with_its_tenants_key(client, anonymous):
    png = png_bytes()
    Image.open(io.BytesIO(png)).verify()  # the hand-built PNG really is one
    response = upload(client, f"/v1/ProductImages/{PRODUCT}", png, "photo.png", "image/png")
    assert response.status_code == 200, response.text
    product = response.json()
    assert product["id"] == PRODUCT and product["imageUrl"]
    assert "/_mock/files/" in product["imageUrl"]

    assert anonymous.get(path_of(product["imageUrl"])).status_code == 401
    served = client.get(path_of(product["imageUrl"]))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == png

    again = client.get(f"/v1/ProductImages/{PRODUCT}")
    assert again.status_code == 200 and again.json()["imageUrl"] == product["imageUrl"]
    assert client.get(f"/v1/Products/{PRODUCT}").json()["imageUrl"] == product["imageUrl"]


def test_the_image_url_follows_the_host_the_request_came_in_on(app, client):
    """`imageUrl` is made per request, as `pdfUrl` is: the same image answers under any host name or
    port the sandbox is reached at (localhost vs 127.0.0.1, a Docker service name, another port)."""
    png = png_bytes((7, 8, 9))
    uploaded = upload(client, f"/v1/ProductImages/{PRODUCT}", png, "photo.png", "image/png").json()
    path = f"/_mock/files/{hashlib.sha256(png).hexdigest()}"
    assert uploaded["imageUrl"] == f"http://testserver{path}"

    for host in ("altoviz-mock:8000", "127.0.0.1:9123", "localhost"):
        expected, headers = f"http://{host}{path}", {"Host": host}
        product = client.get(f"/v1/Products/{PRODUCT}", headers=headers).json()
        assert product["imageUrl"] == expected
        assert client.get(f"/v1/ProductImages/{PRODUCT}", headers=headers).json()["imageUrl"] == expected
        listed = client.get("/v1/Products", headers=headers, params={"pageSize": 1000}).json()
        assert next(p for p in listed if p["id"] == PRODUCT)["imageUrl"] == expected
        assert all(p["imageUrl"] is None for p in listed if p["id"] != PRODUCT)
        if product.get("number"):
            found = client.get("/v1/Products/Find", headers=headers, params={"number": product["number"]}).json()
            assert [p["imageUrl"] for p in found] == [expected]
        updated = client.put(f"/v1/Products/{PRODUCT}", headers=headers, json={"description": f"via {host}"})
        assert updated.status_code == 200 and updated.json()["imageUrl"] == expected
        served = client.get(path_of(expected), headers=headers)
        assert served.status_code == 200 and served.content == png

    # A sale document line embeds its product: with the image URL of the request's host too.
    customer = client.get("/v1/Customers").json()[0]
    invoice = client.post("/v1/SaleInvoices", json={"customerId": customer["id"],
                                                    "lines": [{"productId": PRODUCT, "quantity": 1}]})
    assert invoice.status_code == 200, invoice.text
    assert invoice.json()["lines"][0]["product"]["imageUrl"] == f"http://testserver{path}"
    line = client.get(f"/v1/SaleInvoices/{invoice.json()['id']}", headers={"Host": "docker-host:8080"}).json()["lines"][0]
    assert line["product"]["imageUrl"] == f"http://docker-host:8080{path}"

    # Nothing host-bound is stored: only the file the image is.
    svc = services(app)
    stored = svc.tenants.open(svc.tenants.authenticate(KEY)).get("Products", PRODUCT)
    assert "imageUrl" not in stored and stored["_image"]["fileId"] in path


def test_an_image_url_stored_by_an_older_version_is_never_answered(app, client):
    png = png_bytes((4, 5, 6))
    upload(client, f"/v1/ProductImages/{PRODUCT}", png, "photo.png", "image/png")
    svc = services(app)
    repo = svc.tenants.open(svc.tenants.authenticate(KEY))
    with repo.transaction():  # what versions that stored the URL at upload time left behind
        repo.replace("Products", PRODUCT, {**repo.get("Products", PRODUCT), "imageUrl": "http://127.0.0.1:1/_mock/files/old"})
    expected = f"http://testserver/_mock/files/{hashlib.sha256(png).hexdigest()}"
    assert client.get(f"/v1/Products/{PRODUCT}").json()["imageUrl"] == expected
    assert client.put(f"/v1/Products/{PRODUCT}", json={"name": "Renommé"}).json()["imageUrl"] == expected
    assert "imageUrl" not in repo.get("Products", PRODUCT)  # dropped by the next write

    with repo.transaction():
        repo.replace("Products", PRODUCT, {**repo.get("Products", PRODUCT), "imageUrl": "http://127.0.0.1:1/x"})
    assert client.delete(f"/v1/ProductImages/{PRODUCT}").status_code == 200
    assert client.get(f"/v1/Products/{PRODUCT}").json()["imageUrl"] is None
    assert "imageUrl" not in repo.get("Products", PRODUCT)


def test_another_tenant_gets_a_404_for_a_file_it_does_not_hold(two_teams):
    a, b = two_teams
    png = png_bytes((4, 4, 4))
    path = path_of(upload(a, f"/v1/ProductImages/{PRODUCT}", png, "photo.png", "image/png").json()["imageUrl"])
    assert a.get(path).content == png
    assert b.get(path).status_code == 404
    upload(b, f"/v1/ProductImages/{PRODUCT}", png, "same.png", "image/png")  # the same bytes, its own now
    assert b.get(path).content == png
    a.delete(f"/v1/ProductImages/{PRODUCT}")
    assert a.get(path).status_code == 404 and b.get(path).content == png


def test_a_jpeg_replaces_the_image_then_delete_removes_it(client):
    first = upload(client, f"/v1/ProductImages/{PRODUCT}", png_bytes(), "photo.png", "image/png").json()
    jpeg = jpeg_bytes()
    replaced = upload(client, f"/v1/ProductImages/{PRODUCT}", jpeg, "photo.jpg", "image/jpeg")
    assert replaced.status_code == 200, replaced.text
    url = replaced.json()["imageUrl"]
    assert url and url != first["imageUrl"]
    served = client.get(path_of(url))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg" and served.content == jpeg
    assert client.get(path_of(first["imageUrl"])).status_code == 404  # replaced: no longer its image

    deleted = client.delete(f"/v1/ProductImages/{PRODUCT}")
    assert deleted.status_code == 200
    assert client.get(path_of(url)).status_code == 404  # removed with its product's image
    assert client.get(f"/v1/Products/{PRODUCT}").json()["imageUrl"] is None
    assert client.get(f"/v1/ProductImages/{PRODUCT}").json()["imageUrl"] is None
    second = client.delete(f"/v1/ProductImages/{PRODUCT}")
    assert second.status_code == 404


def test_image_uploads_refused(client):
    products = client.get("/v1/Products").json()
    unknown = max(p["id"] for p in products) + 1000
    before = client.get(f"/v1/Products/{PRODUCT}").json()

    missing = upload(client, f"/v1/ProductImages/{unknown}", png_bytes(), "photo.png", "image/png")
    assert missing.status_code == 404
    assert client.get(f"/v1/ProductImages/{unknown}").status_code == 404
    assert client.delete(f"/v1/ProductImages/{unknown}").status_code == 404

    text = upload(client, f"/v1/ProductImages/{PRODUCT}", b"just some notes, not a picture\n", "notes.png", "image/png")
    assert text.status_code == 400
    message = text.json()["message"]
    assert "PNG" in message and "JPEG" in message and "contenu" in message

    pdf = upload(client, f"/v1/ProductImages/{PRODUCT}", pdf_bytes(), "scan.png", "image/png")
    assert pdf.status_code == 400

    big = upload(client, f"/v1/ProductImages/{PRODUCT}", png_bytes() + b"\x00" * (6 * MB), "big.png", "image/png")
    assert big.status_code == 413
    problem = big.json()
    assert problem["status"] == 413 and "5 MB" in problem["detail"] and problem["title"]

    no_file = client.post(f"/v1/ProductImages/{PRODUCT}", files={"picture": ("photo.png", png_bytes(), "image/png")})
    assert no_file.status_code == 400
    only_text = client.post(f"/v1/ProductImages/{PRODUCT}", files={"note": (None, "x")})
    assert only_text.status_code == 400
    not_a_file = client.post(f"/v1/ProductImages/{PRODUCT}", files={"file": (None, "a text value")})
    assert not_a_file.status_code == 400
    # Not multipart at all: the contract's media type is refused.
    assert client.post(f"/v1/ProductImages/{PRODUCT}", data={"file": "x"}).status_code == 415

    assert client.get(f"/v1/Products/{PRODUCT}").json() == before


def test_a_pdf_becomes_a_pending_purchase_invoice_dated_by_the_sandbox_clock(frozen):
    pdf = pdf_bytes()
    response = upload(frozen, "/v1/PurchaseInvoices/file", pdf, "F-2026-042.pdf", "application/pdf")
    assert response.status_code == 200, response.text
    invoice = response.json()
    assert invoice["status"] == "Pending"
    assert invoice["date"] == "2026-03-11"  # Europe/Paris, by the frozen clock
    assert path_of(invoice["pdfUrl"]) == f"/v1/purchaseinvoices/download/{invoice['id']}"  # relative, lowercase, as live
    download = frozen.get(path_of(invoice["pdfUrl"]))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content == pdf
    assert frozen.get(f"/v1/PurchaseInvoices/Download/{invoice['id'] + 1000}").status_code == 404


def test_refused_pdf_uploads_leave_the_store_unchanged(frozen):
    first = upload(frozen, "/v1/PurchaseInvoices/file", pdf_bytes("one"), "one.pdf", "application/pdf").json()

    png = upload(frozen, "/v1/PurchaseInvoices/file", png_bytes(), "disguised.pdf", "application/pdf")
    assert png.status_code == 400 and "PDF" in png.json()["message"]
    big = upload(frozen, "/v1/PurchaseInvoices/file", b"%PDF-1.4\n" + b"0" * (11 * MB), "big.pdf", "application/pdf")
    assert big.status_code == 413 and "10 MB" in big.json()["detail"]
    none = frozen.post("/v1/PurchaseInvoices/file", files={"document": ("x.pdf", pdf_bytes(), "application/pdf")})
    assert none.status_code == 400
    empty = upload(frozen, "/v1/PurchaseInvoices/file", b"", "empty.pdf", "application/pdf")
    assert empty.status_code == 400

    second_pdf = pdf_bytes("two")
    second = upload(frozen, "/v1/PurchaseInvoices/file", second_pdf, "two.pdf", "application/pdf").json()
    assert second["id"] == first["id"] + 1
    assert frozen.get(f"/v1/PurchaseInvoices/Download/{second['id']}").content == second_pdf


@pytest.mark.slow  # a real server, stopped and started again
def test_uploaded_files_survive_a_restart(server_factory):
    server = server_factory()
    headers = {"X-API-KEY": KEY}
    png, pdf = png_bytes((1, 2, 3)), pdf_bytes("restart")
    with httpx.Client(base_url=server.url, headers=headers, timeout=10, trust_env=False) as http:
        product = http.post(f"/v1/ProductImages/{PRODUCT}", files={"file": ("p.png", png, "image/png")})
        assert product.status_code == 200, product.text
        invoice = http.post("/v1/PurchaseInvoices/file", files={"file": ("i.pdf", pdf, "application/pdf")})
        assert invoice.status_code == 200, invoice.text
    image_path, invoice_id = path_of(product.json()["imageUrl"]), invoice.json()["id"]
    server.stop()

    restarted = server_factory(data_dir=server.data_dir)
    with httpx.Client(base_url=restarted.url, timeout=10, trust_env=False) as http:
        image = http.get(image_path, headers=headers)  # the owning tenant's key
        assert image.status_code == 200 and image.content == png
        assert image.headers["content-type"] == "image/png"
        # Another port after the restart: the URL names the one the sandbox answers on now.
        assert http.get(f"/v1/ProductImages/{PRODUCT}", headers=headers).json()["imageUrl"] == f"{restarted.url}{image_path}"
        download = http.get(f"/v1/PurchaseInvoices/Download/{invoice_id}", headers=headers)
        assert download.status_code == 200 and download.content == pdf
        assert download.headers["content-type"] == "application/pdf"


def test_upload_temp_files_left_by_a_crash_are_removed_at_start(tmp_path):
    from mock_server.files import FileStore
    blob_id = FileStore(tmp_path).put(b"%PDF-1.4 kept")
    files = tmp_path / "files"
    (files / ".upload-abc123").write_bytes(b"%PDF-1.4 cut sh")  # a crash mid-upload
    (files / "tmpq1w2e3").write_bytes(b"older releases' temp name")
    store = FileStore(tmp_path)
    assert sorted(p.name for p in files.iterdir()) == [blob_id]
    assert store.get(blob_id) == b"%PDF-1.4 kept"
