"""One error body for every 4xx and 5xx the API gives, and the statuses each operation can.

Every refusal is a sentence a person can read (`detail`) beside the problems
found, each located as precisely as the server knows: the uploaded file, its
row and column, or the request field (`body.policy.budget_vnd`,
`query.limit`). A client shows `detail`, or the problems as a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from allocator.issues import MAX_ISSUES, InputIssue


class Problem(BaseModel):
    """One thing wrong with a request."""

    # Every field is always sent: the document says so (a client need not test for it).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    message: str = Field(description="What is wrong, as a sentence.")
    file: str | None = Field(default=None, description="The uploaded file it is in.")
    row: int | None = Field(default=None, description="The file's row (1 is the header "
                                                      "row of a CSV), when known.")
    column: str | None = Field(default=None, description="The file's column, or the "
                                                         "policy key.")
    field: str | None = Field(default=None, description="Where in the request: "
                                                        "'body.name', 'query.limit', "
                                                        "'path.round_id'.")


class Error(BaseModel):
    """The body of every error answer."""

    status: int = Field(description="The HTTP status, repeated.")
    detail: str = Field(description="What happened, as one sentence a person can read.")
    detail_vi: str | None = Field(default=None, description="The same in Vietnamese, where "
                                                            "the server words it for people.")
    problems: list[Problem] = Field(default_factory=list,
                                    description="Each problem found, located; empty when "
                                                "the sentence says it all.")
    more: int = Field(default=0, ge=0, description="Problems found beyond those listed.")

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              json_schema_extra={"examples": [{
        "status": 422, "detail": "1 problem in households.csv; the first: households.csv, "
                                 "row 12, column status: must be one of poor, near_poor, "
                                 "other (got 'rich')",
        "detail_vi": None,
        "problems": [{"message": "must be one of poor, near_poor, other (got 'rich')",
                      "file": "households.csv", "row": 12, "column": "status",
                      "field": None}],
        "more": 0}]})


class ApiError(Exception):
    """Raised by a handler: becomes an `Error` answer with this status."""

    def __init__(self, status: int, detail: str, problems: Sequence[Problem] = (),
                 more: int = 0, headers: dict[str, str] | None = None,
                 detail_vi: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.detail_vi = detail_vi
        self.problems = list(problems)
        self.more = more
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return Error(status=self.status, detail=self.detail, detail_vi=self.detail_vi,
                     problems=self.problems, more=self.more).model_dump()


def from_issues(status: int, issues: Sequence[InputIssue], more: int = 0,
                what: str = "the upload") -> ApiError:
    """Located input problems (file, row, column), at most MAX_ISSUES of them listed."""
    more += getattr(issues, "more", 0) + max(0, len(issues) - MAX_ISSUES)
    listed = [Problem(message=i.message, file=i.file or None, row=i.row or None,
                      column=i.column or None) for i in issues[:MAX_ISSUES]]
    total = len(listed) + more
    detail = f"{total:,} problem{'s' if total != 1 else ''} in {what}"
    if listed:
        detail += f"; the first: {issues[0]}"
    return ApiError(status, detail, listed, more)


def from_lines(status: int, lines: Iterable[str]) -> ApiError:
    """Problems the server has only as sentences."""
    said = [line for line in lines if line]
    if len(said) == 1:
        return ApiError(status, said[0], [Problem(message=said[0])])
    return ApiError(status, f"{len(said)} problems: {said[0]}" if said else "refused",
                    [Problem(message=line) for line in said])


def field_problems(errors: Sequence[dict[str, Any]]) -> list[Problem]:
    """FastAPI's validation errors as problems located by request field."""
    out = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()))
        said = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if said.startswith("Expected UploadFile"):  # pydantic's words name a Python class
            said = "must be a file (multipart/form-data)"
        out.append(Problem(message=said, field=where or None))
    return out


# Statuses every API operation documents, with what each means here.
MEANINGS = {
    400: "The request could not be read (for example a body that is not JSON).",
    401: "No bearer token, or one that is unknown, expired or revoked.",
    403: "The token's role may not do this.",
    404: "No such round, lot, household, case or import kind.",
    409: "The round's (or campaign's) state does not allow this now.",
    413: "The upload is larger than the service takes.",
    415: "The upload is not a kind of file the service takes.",
    422: "The request was read but refused; `problems` says where and why.",
    503: "The store is busy; try again after Retry-After seconds.",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses answer with `Error`."""
    return {code: {"model": Error, "description": MEANINGS[code]} for code in statuses}
