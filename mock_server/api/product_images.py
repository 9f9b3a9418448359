"""/v1/ProductImages: a product's picture, stored by the sandbox and served under /_mock/files."""

import flask

from ..domain.catalog import Products
from ._http import domain, host_url, present, services, write
from ._uploads import MB, read_upload

IMAGES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}


def post(product_id, file=None):
    products = Products(domain())
    products.load(product_id)
    data, media_type, _name = read_upload(file, accepted=IMAGES, max_bytes=5 * MB)
    file_id = services().files.put(data)
    url = f"{host_url()}_mock/files/{file_id}"
    return present("Product", write(lambda ctx: Products(ctx).set_image(product_id, file_id, media_type, url)))


def get(product_id):
    return present("Product", Products(domain()).get(product_id))


def delete(product_id):
    write(lambda ctx: Products(ctx).remove_image(product_id))
    return flask.Response(status=200, mimetype="application/json")
