"""Downloads with the caller's bearer key, like the statements export (`api.finance.http`):

- `GET /exports/payout-file?batchId=<id>&format=SEPA_PAIN_001|PAYPAL_PAYOUTS_CSV|WISE_BATCH_CSV`
  (FINANCE, ADMIN): the batch's payment file; the payees held back are named in the
  `X-Vouch-Held-Back` header (influencer ids and reasons) as in GraphQL's `missingDetails`.
- `GET /exports/contract.pdf?id=<Contract id>`: a contract version's PDF, for any key that sees
  the contract (an INFLUENCER key: its own); `X-Vouch-Sha256` is the digest a signature records.
- `GET /exports/invoice.pdf?id=<SelfBillingInvoice id>`: FINANCE, ADMIN, or the payee's key.

401/403/429 as the statements export; an unknown id, or another organization's, is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import contracts
from api.accounts import roles
from api.accounts.keys import Viewer
from api.db import session_scope, utcnow
from api.finance import invoices, payout_files
from api.finance.errors import FinanceError
from api.finance.http import authenticated
from api.finance.pdf import sha256
from api.graphql.permissions import visible
from api.models import Contract, PayoutBatch, SelfBillingInvoice
from api.models.enums import Role
from tracker import globalid


def _row(db: Any, viewer: Viewer, model: Any, type_name: str, gid: str) -> Any:
    pk = globalid.decode_pk(gid, type_name)
    if pk is None:
        return None
    return db.scalar(select(model).where(model.id == pk, *visible(model, viewer)))


def _not_found(what: str, field: str) -> JSONResponse:
    return JSONResponse({"error": f"no such {what}", "field": field}, status_code=404)


def _attachment(content: bytes, filename: str, media_type: str, **headers: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **headers},
    )


def _payout_file(request: Request, viewer: Viewer) -> Response:
    if not roles.may(viewer.role, "finance"):
        return JSONResponse({"error": roles.refusal(viewer.role, "finance")}, status_code=403)
    params = request.query_params
    try:
        fmt = payout_files.PayoutFileFormat(params.get("format", ""))
    except ValueError:
        names = ", ".join(f.value for f in payout_files.PayoutFileFormat)
        return JSONResponse({"error": f"format must be one of {names}", "field": "format"}, 422)
    with session_scope() as db:
        batch = _row(db, viewer, PayoutBatch, "PayoutBatch", params.get("batchId", ""))
        if batch is None:
            return _not_found("payout batch", "batchId")
        try:
            built = payout_files.build(db, batch, fmt, now=utcnow())
        except FinanceError as exc:
            return JSONResponse({"error": exc.message, "field": exc.field}, status_code=422)
        held = ",".join(f"{m.influencer_id}:{m.reason.value}" for m in built.missing)
        return _attachment(
            built.content.encode("utf-8"),
            built.filename,
            built.content_type,
            **{"X-Vouch-Held-Back": held or "none"},
        )


def _contract_pdf(request: Request, viewer: Viewer) -> Response:
    with session_scope() as db:
        contract = _row(db, viewer, Contract, "Contract", request.query_params.get("id", ""))
        if contract is None:
            return _not_found("contract", "id")
        pdf = contracts.pdf_of(db, contract)
        name = f"contract-{contract.partnership_id}-v{contract.version}.pdf"
        return _attachment(pdf, name, "application/pdf", **{"X-Vouch-Sha256": sha256(pdf)})


def _invoice_pdf(request: Request, viewer: Viewer) -> Response:
    if viewer.role is not Role.INFLUENCER and not roles.may(viewer.role, "finance"):
        return JSONResponse({"error": roles.refusal(viewer.role, "finance")}, status_code=403)
    gid = request.query_params.get("id", "")
    with session_scope() as db:
        invoice = _row(db, viewer, SelfBillingInvoice, "SelfBillingInvoice", gid)
        if invoice is None:
            return _not_found("self-billing invoice", "id")
        name = f"invoice-{invoices.invoice_label(invoice.number)}.pdf"
        return _attachment(invoices.render(invoice), name, "application/pdf")


def _endpoint(handler: Callable[[Request, Viewer], Response]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        def run() -> Response:
            viewer = authenticated(request)
            return viewer if isinstance(viewer, Response) else handler(request, viewer)

        return await run_in_threadpool(run)

    return endpoint


payout_file = _endpoint(_payout_file)
contract_pdf = _endpoint(_contract_pdf)
invoice_pdf = _endpoint(_invoice_pdf)

__all__ = ["contract_pdf", "invoice_pdf", "payout_file"]
