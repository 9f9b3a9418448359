"""Reading a multipart upload: size and real type checked before anything is stored."""

from __future__ import annotations

from ..domain.errors import InvalidRequest, PayloadTooLarge
from ..files import sniff
from ..offload import off_loop

MB = 1024 * 1024


def read_upload(file, *, accepted: dict[str, str], max_bytes: int) -> tuple[bytes, str, str | None]:
    """(bytes, media type, file name) of the `file` form field, or a 4xx that says what is wrong."""
    # Connexion gives the form's file as Starlette's UploadFile: its `file` (spooled to disk past
    # 1 MB) is read in a thread, never on the event loop, and before it is read: it is read once.
    off_loop("an upload is read")
    if file is None or not hasattr(getattr(file, "file", None), "read"):
        raise InvalidRequest("Envoyez le fichier en multipart/form-data dans un champ nommé 'file'.")
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The file is larger than the {max_bytes // MB} MB the sandbox accepts")
    if not data:
        raise InvalidRequest("Le fichier envoyé est vide.")
    media_type = sniff(data)
    if media_type not in accepted:
        names = ", ".join(accepted.values())
        raise InvalidRequest(f"Le fichier envoyé n'est pas de l'un de ces types : {names} (son contenu a été vérifié, pas son nom).")
    return data, media_type, getattr(file, "filename", None)
