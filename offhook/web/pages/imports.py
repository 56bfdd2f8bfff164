"""Import addresses: upload a CSV or vCard file, map the columns on a preview, see the report.

The uploaded file waits in the data folder between preview and import (named by a random
token, removed after the import and after a day at the latest).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from offhook.intake.imports import (
    FIELDS,
    CsvFile,
    ImportFileError,
    ImportReport,
    csv_records,
    import_addresses,
    looks_like_vcard,
    open_csv,
    open_vcard,
    suggest_mapping,
    vcard_records,
)
from offhook.intake.imports.csvfile import DELIMITER_NAMES
from offhook.intake.imports.vcard import VCardFile
from offhook.settings.language import N_
from offhook.web.context import offhook_of
from offhook.web.security import Admin, CurrentUser, csrf_protect
from offhook.web.templating import render

router = APIRouter(prefix="/imports", dependencies=[Depends(csrf_protect)], include_in_schema=False)

KEEP_SECONDS = 24 * 3600
PREVIEW_ROWS = 8
SHOWN_PROBLEMS = 500
ENCODINGS = {"": N_("Find out"), "utf-8": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16",
             "latin-1": "ISO-8859-1", "mac-roman": "Mac Roman"}  # fmt: skip
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _most_mb(request: Request) -> int:
    return offhook_of(request).config.upload_max_bytes // (1024 * 1024)


def _index(
    request: Request, user: CurrentUser, status_code: int = 200, error: str | None = None
) -> Response:
    """The upload form, with why the last upload was refused."""
    return render(
        request,
        "imports/index.html",
        user,
        status_code=status_code,
        error=error,
        most_mb=_most_mb(request),
    )


def _folder(request: Request) -> Path:
    folder = offhook_of(request).config.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload(request: Request, token: str) -> tuple[Path, dict[str, Any]]:
    if not _TOKEN.match(token):
        raise HTTPException(404, N_("There is no such import."))
    folder = _folder(request)
    meta, data = folder / f"{token}.json", folder / f"{token}.upload"
    if not meta.exists() or not data.exists():
        raise HTTPException(
            404,
            "This upload is gone (imported already, or older than a day). Upload the file again.",
        )
    return data, json.loads(meta.read_text())


def _forget(folder: Path, token: str) -> None:
    for suffix in (".json", ".upload"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def _tidy(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in folder.glob("*.upload"):
        if path.stat().st_mtime < limit:
            _forget(folder, path.stem)


@router.get("")
async def imports_page(request: Request, user: Admin) -> Response:
    return _index(request, user, error=None)


@router.post("")
async def upload(request: Request, user: Admin) -> Response:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _index(request, user, status_code=422, error="Choose a file to import.")
    most = offhook_of(request).config.upload_max_bytes
    data = await file.read(most + 1)
    if len(data) > most:
        return _index(
            request,
            user,
            status_code=413,
            error=f"The file is larger than {_most_mb(request)} MB: split it, or use the "
            "command offhook import.",
        )
    if not data.strip():
        return _index(request, user, status_code=422, error="The file is empty.")
    kind = "vcard" if looks_like_vcard(data, file.filename) else "csv"
    token = secrets.token_urlsafe(24)

    def store_upload() -> None:
        folder = _folder(request)
        _tidy(folder)
        (folder / f"{token}.upload").write_bytes(data)
        (folder / f"{token}.json").write_text(json.dumps({"name": file.filename, "kind": kind}))

    await asyncio.to_thread(store_upload)
    return RedirectResponse(f"/imports/{token}", status_code=303)


def _open(path: Path, meta: dict[str, Any], delimiter: str, encoding: str) -> CsvFile | VCardFile:
    data = path.read_bytes()
    if meta["kind"] == "vcard":
        return open_vcard(data)
    return open_csv(data, delimiter=delimiter or None, encoding=encoding or None)


@router.get("/{token}")
async def preview(
    request: Request, token: str, user: Admin, delimiter: str = "", encoding: str = ""
) -> Response:
    path, meta = await asyncio.to_thread(_upload, request, token)
    try:
        book = await asyncio.to_thread(_open, path, meta, delimiter, encoding)
    except ImportFileError as exc:
        return _refused(request, user, meta, exc)
    return _preview_page(request, user, token, meta, book, delimiter, encoding)


def _refused(
    request: Request, user: CurrentUser, meta: dict[str, Any], exc: ImportFileError
) -> Response:
    """The upload form again, with why this file (read this way) cannot be imported."""
    text = exc.text()  # in the user's language
    error = f"{meta['name']}: {text[:1].upper()}{text[1:]}."
    return _index(request, user, status_code=422, error=error)


def _preview_page(
    request: Request,
    user: CurrentUser,
    token: str,
    meta: dict[str, Any],
    book: CsvFile | VCardFile,
    delimiter: str,
    encoding: str,
    mapping: list[str] | None = None,
    error: str | None = None,
) -> Response:
    context: dict[str, Any] = {
        "token": token,
        "name": meta["name"],
        "book": book,
        "error": error,
        "delimiter": delimiter,
        "encoding": encoding,
    }
    if isinstance(book, CsvFile):
        context |= {
            "kind": "csv",
            "rows": book.preview(PREVIEW_ROWS),
            "mapping": mapping or suggest_mapping(book.headers),
            "fields": FIELDS,
            "delimiters": DELIMITER_NAMES,
            "encodings": ENCODINGS,
        }
    else:
        cards = []
        for item in vcard_records(book.text):
            cards.append(item)
            if len(cards) == PREVIEW_ROWS:
                break
        context |= {"kind": "vcard", "cards": cards}
    return render(
        request, "imports/preview.html", user, status_code=422 if error else 200, **context
    )


@router.post("/{token}")
async def run_import(request: Request, token: str, user: Admin) -> Response:
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    delimiter, encoding = values.get("delimiter", ""), values.get("encoding", "")
    dry_run = values.get("action") == "check"
    path, meta = await asyncio.to_thread(_upload, request, token)
    try:
        book = await asyncio.to_thread(_open, path, meta, delimiter, encoding)
    except ImportFileError as exc:
        return _refused(request, user, meta, exc)
    mapping: list[str] = []
    if isinstance(book, CsvFile):
        mapping = [values.get(f"column_{i}", "") for i in range(len(book.headers))]
        mapping = [name if name in FIELDS else "" for name in mapping]
        problem = _mapping_problem(mapping)
        if problem is not None:
            return _preview_page(
                request, user, token, meta, book, delimiter, encoding, mapping, error=problem
            )
    store = offhook_of(request).store

    def work() -> ImportReport:
        items = (
            csv_records(book, mapping) if isinstance(book, CsvFile) else vcard_records(book.text)
        )
        report = import_addresses(store, items, dry_run=dry_run)
        if not dry_run:
            _forget(_folder(request), token)
        return report

    report = await asyncio.to_thread(work)
    return render(
        request,
        "imports/report.html",
        user,
        report=report,
        name=meta["name"],
        token=token,
        problems=report.problems[:SHOWN_PROBLEMS],
        mapping=mapping,
        delimiter=delimiter,
        encoding=encoding,
    )


def _mapping_problem(mapping: list[str]) -> str | None:
    """Why the columns as chosen cannot be imported; None if they can."""
    if not any(mapping):
        return "Choose at least one column to import."
    repeated = [
        name
        for name in set(mapping)
        if name
        and mapping.count(name) > 1
        and name not in ("phone", "mobile", "fax", "email", "notes")
    ]
    if repeated:
        return f"Only one column can be imported as {FIELDS[repeated[0]]}."
    return None
