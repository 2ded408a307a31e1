"""The HTTP status of each refusal the store gives a request.

One table for the API and the pages alike: 403 not the asker's, 404 not there, 409
refused by the records or the round's state, 422 wrong in itself. It depends on the
store's errors only, so any page module can read it without importing the API's
error handlers (which render pages).
"""

from __future__ import annotations

from allocator.store import cases
from allocator.store.followup import FollowUpError
from allocator.store.ledger import LotNotFound
from allocator.store.lifecycle import BadValue, Conflict, RoundError, RoundNotFound, WrongState
from allocator.store.point_desk import DeskConflict, DeskError, NotFound, NotYours
from allocator.store.rounds import NotAllocated

# A refusal's status: that of the first row its error is one of. The order matters: a
# case another commune's officer asks about, one that names what is not in the store and
# one the records refuse are all requests refused as wrong (BadValue) too.
STATUSES: tuple[tuple[tuple[type[Exception], ...], int], ...] = (
    ((NotYours, cases.NotYourCase), 403),
    ((RoundNotFound, LotNotFound, NotFound, cases.NotInStore), 404),
    # NotAllocated: the round holds no such phone to hand over.
    ((WrongState, Conflict, NotAllocated, DeskConflict, cases.RefusedByRecords), 409),
    ((BadValue, DeskError), 422),
)


def status_of(error: RoundError | DeskError) -> int:
    """The HTTP status of a store's refusal; 409 for any other the round's state refuses."""
    if isinstance(error, FollowUpError):
        return error.status  # each follow-up refusal states its own
    for kinds, code in STATUSES:
        if isinstance(error, kinds):
            return code
    return 409
