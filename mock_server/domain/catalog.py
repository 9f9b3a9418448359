"""The catalogue: product families and products (with their VAT, unit and family)."""

from __future__ import annotations

from decimal import Decimal

from .amounts import LIMIT
from .collection import Collection, Family
from .errors import InvalidRequest, NotFound, Noun


class ProductFamilies(Family):
    """Families grouping products (`Product.family`)."""

    kind = "ProductFamilies"
    label = "Product family"
    noun = Noun("famille de produits", feminine=True)
    search_fields = ("label", "number")
    find_fields = ("number",)

    def members(self) -> Collection:
        return Products(self.ctx)


class Products(Collection):
    """Products and services the seller sells; sale document lines refer to them."""

    kind = "Products"
    label = "Product"
    noun = Noun("produit")
    event_name = "Product"
    read_only = ("id", "imageUrl")
    search_fields = ("name", "number", "description", "internalId")
    find_fields = ("number", "internalId")

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = dict(data)
        ref = self.ctx.reference
        # As observed live: a product given no VAT has none (`vat: null`); its lines take the default.
        doc["vat"] = ref.resolve_vat(doc["vat"]) if doc.get("vat") is not None else None
        doc["unit"] = ref.resolve_unit(doc.get("unit"))
        doc["_familyId"] = ProductFamilies(self.ctx).resolve(doc.get("family"))
        doc.pop("family", None)
        defaults = {"active": True, "type": "Product", "defaultQuantity": 0, "isUnitPriceTaxIncluded": False,
                    "unitPrice": 0, "purchasePrice": 0}
        for key, value in defaults.items():
            if doc.get(key) is None:
                doc[key] = value
        for key in ("unitPrice", "purchasePrice", "defaultQuantity"):
            # Prices are never negative; none of these may be beyond what amounts can compute.
            low = -LIMIT if key == "defaultQuantity" else 0
            if not low <= Decimal(str(doc[key])) < LIMIT:
                raise InvalidRequest(f"{key} doit être compris entre {low:,.0f} et {LIMIT:,.0f} (exclu), reçu {doc[key]!r}.")
        # The image is kept as its file (`_image`); its URL is made per request by the HTTP adapters.
        # Documents written by older versions stored an `imageUrl` (with the host of the upload): dropped.
        doc.pop("imageUrl", None)
        return doc

    def view(self, doc: dict) -> dict:
        family_id = doc.get("_familyId")
        family = self.repo.get(ProductFamilies.kind, family_id) if family_id is not None else None
        return {**doc, "family": family} if family else doc

    def set_image(self, id: int, file_id: str, media_type: str) -> dict:
        """Attach (or replace) the product's image: the stored file `file_id`. Where it is served
        (`imageUrl`) depends on the host a request reaches the sandbox at: the adapters add it."""
        with self.repo.transaction():
            product = self.load(id)
            product = {k: v for k, v in product.items() if k != "imageUrl"}
            product = self.repo.replace(self.kind, id, {**product, "_image": {"fileId": file_id, "mediaType": media_type}})
            self.emit("Updated", id)
        return self.view(product)

    def remove_image(self, id: int) -> None:
        """Forget the product's image; NotFound when the product has none."""
        with self.repo.transaction():
            product = self.load(id)
            if not product.get("_image"):
                raise NotFound("Product image", id, "productId")
            product = {k: v for k, v in product.items() if k != "imageUrl"}
            self.repo.replace(self.kind, id, {**product, "_image": None})
            self.emit("Updated", id)

    def list(self, *, family_id: str | None = None, **kwargs) -> list[dict]:
        """Products, optionally of one family (given by id or by number)."""
        where = None
        if family_id not in (None, ""):
            wanted = str(family_id).casefold()
            where = lambda d: d.get("family") is not None and wanted in (
                str(d["family"]["id"]), str(d["family"].get("number") or "").casefold())
        return super().list(where=where, **kwargs)
