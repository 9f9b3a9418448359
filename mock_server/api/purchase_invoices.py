"""/v1/PurchaseInvoices: an uploaded PDF becomes a purchase invoice; Download gives the same bytes back."""

from ..domain.purchases import PurchaseInvoices
from ._http import domain, present, services, with_urls
from ._uploads import MB, read_upload


def create_from_file(file=None):
    data, _media_type, name = read_upload(file, accepted={"application/pdf": "PDF"}, max_bytes=10 * MB)
    invoices = PurchaseInvoices(domain())
    created = invoices.create_from_file(services().files.put(data), name)
    return present("PurchaseInvoice", with_urls(PurchaseInvoices.kind, created))


def download(id_):
    data = services().files.get(PurchaseInvoices(domain()).file_id(id_))
    return data, 200, {"Content-Type": "application/pdf",
                       "Content-Disposition": f'inline; filename="purchase-invoice-{id_}.pdf"'}
