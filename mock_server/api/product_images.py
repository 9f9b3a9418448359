"""/v1/ProductImages: a product's picture, stored by the sandbox and served under /_mock/files."""

from ..domain.catalog import Products
from ._http import domain, empty_answer, services, write
from ._uploads import MB, read_upload
from .products import products

IMAGES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}


def post(product_id, file=None):
    Products(domain()).load(product_id)
    data, media_type, _name = read_upload(file, accepted=IMAGES, max_bytes=5 * MB)
    file_id = services().files.put(data)
    # The answer's `imageUrl` is made from the file id per request (see `_http.image_url`).
    return products.present(write(lambda ctx: Products(ctx).set_image(product_id, file_id, media_type)))


def get(product_id):
    return products.get(product_id)


def delete(product_id):
    write(lambda ctx: Products(ctx).remove_image(product_id))
    return empty_answer()
