"""Finance pages (FINANCE and ADMIN users): payout batches (create, review the lines, mark
paid, cancel a draft) and the statements export."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.accounts.keys import Viewer
from api.pages.client import execute
from api.pages.portal import _months
from api.pages.render import (
    checked_form,
    may,
    not_found,
    page_viewer,
    redirect,
    refused,
    render,
)

BATCH_FIELDS = """
  id currency asOf status reference paidAt createdAt cancelledAt cancelledBy
  minimumAmount { amount currency } total { amount currency }
"""
BATCHES = f"""
query Batches {{
  viewer {{ organization {{ name }} }}
  brands(first: 1) {{ edges {{ node {{ locale timeZone defaultCurrency }} }} }}
  payoutBatches(first: 50) {{ totalCount edges {{ node {{ {BATCH_FIELDS} }} }} }}
}}
"""
BATCH = f"""
query Batch($id: ID!) {{
  brands(first: 1) {{ edges {{ node {{ locale timeZone defaultCurrency }} }} }}
  node(id: $id) {{
    ... on PayoutBatch {{
      {BATCH_FIELDS}
      lines {{ amount {{ amount currency }} influencer {{ id name }} }}
    }}
  }}
}}
"""
CREATE = """
mutation Create($input: CreatePayoutBatchInput!) {
  createPayoutBatch(input: $input) { payoutBatch { id } userErrors { field message code } }
}
"""
MARK_PAID = """
mutation Paid($input: MarkPayoutBatchPaidInput!) {
  markPayoutBatchPaid(input: $input) { payoutBatch { id } userErrors { field message code } }
}
"""
CANCEL = """
mutation Cancel($input: CancelPayoutBatchInput!) {
  cancelPayoutBatch(input: $input) { payoutBatch { id } userErrors { field message code } }
}
"""


def _brand(data: dict[str, Any]) -> dict[str, Any] | None:
    edges = data.get("brands", {}).get("edges") or []
    return edges[0]["node"] if edges else None


async def _finance(request: Request) -> Viewer | Response:
    return await page_viewer(request, may("finance"))


async def batches(request: Request, error: str | None = None, status: int = 200) -> Response:
    viewer = await _finance(request)
    if not isinstance(viewer, Viewer):
        return viewer
    data = await run_in_threadpool(lambda: execute(viewer, BATCHES))
    brand = _brand(data)
    return render(
        request,
        "finance.html",
        viewer=viewer,
        brand=brand,
        status=status,
        data=data,
        batches=[e["node"] for e in data["payoutBatches"]["edges"]],
        periods=_months(date.today(), 6),
        currency=(brand or {}).get("defaultCurrency", "EUR"),
        today=date.today().isoformat(),
        error=error,
    )


async def batch(request: Request, error: str | None = None, status: int = 200) -> Response:
    viewer = await _finance(request)
    if not isinstance(viewer, Viewer):
        return viewer
    batch_id = request.path_params["id"]
    data = await run_in_threadpool(lambda: execute(viewer, BATCH, id=batch_id))
    node = data.get("node")
    if not node or "lines" not in node:  # another organization's id, or not a batch
        return not_found(request, viewer)
    return render(
        request,
        "batch.html",
        viewer=viewer,
        brand=_brand(data),
        status=status,
        batch=node,
        error=error,
    )


async def _mutate(
    request: Request, query: str, name: str, input: dict[str, Any]
) -> tuple[Viewer | Response, str | None, str | None]:
    """Runs a finance mutation from a posted form: (viewer or the response to give instead,
    the batch id it returned, the first user error's message)."""
    viewer = await _finance(request)
    if not isinstance(viewer, Viewer):
        return viewer, None, None
    answer = await run_in_threadpool(lambda: execute(viewer, query, input=input))
    payload = answer[name]
    errors = payload["userErrors"]
    batch_id = payload["payoutBatch"]["id"] if payload["payoutBatch"] else None
    return viewer, batch_id, errors[0]["message"] if errors else None


async def create(request: Request) -> Response:
    form = await checked_form(request)
    if form is None:
        return refused(request)
    input = {
        "currency": form.get("currency", ""),
        "asOf": form.get("asOf", ""),
        "minimumAmount": form.get("minimumAmount") or "0",
    }
    viewer, batch_id, error = await _mutate(request, CREATE, "createPayoutBatch", input)
    if not isinstance(viewer, Viewer):
        return viewer
    if error or batch_id is None:
        return await batches(request, error=error, status=422)
    return redirect(f"/finance/batches/{batch_id}")


async def mark_paid(request: Request) -> Response:
    return await _act(request, MARK_PAID, "markPayoutBatchPaid", with_reference=True)


async def cancel(request: Request) -> Response:
    return await _act(request, CANCEL, "cancelPayoutBatch", with_reference=False)


async def _act(request: Request, query: str, name: str, *, with_reference: bool) -> Response:
    form = await checked_form(request)
    if form is None:
        return refused(request)
    batch_id = request.path_params["id"]
    input: dict[str, Any] = {"payoutBatchId": batch_id}
    if with_reference:
        input["reference"] = form.get("reference", "")
    viewer, _id, error = await _mutate(request, query, name, input)
    if not isinstance(viewer, Viewer):
        return viewer
    if error:
        return await batch(request, error=error, status=422)
    return redirect(f"/finance/batches/{batch_id}")
