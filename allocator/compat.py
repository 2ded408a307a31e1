"""Which lots suit which households, and what each device costs the public purse.

Whether a lot suits a household depends on the household's lot group
(commune, status, needs). Most lots are open to every commune, so for them
only (status, needs) matters: such lots reach groups through a *hub*, one per
(status, needs). Lots kept to some communes reach each allowed group directly.
This keeps the lot side of the model to (lots x hubs) + groups arcs instead of
(lots x groups), which at national scale is the difference between thousands
and millions of arcs.

A *route* is one arc lot -> node, where node < n_hubs is a hub and
node >= n_hubs is the group node - n_hubs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.contract import STATUSES, RoundPolicy


@dataclass
class Routes:
    group_hub: np.ndarray   # hub of each lot group
    hub_status: np.ndarray
    hub_needs: np.ndarray
    lot: np.ndarray         # per route
    node: np.ndarray
    cost: np.ndarray        # public cost of one device on this route (VND)
    copay: np.ndarray       # what the household pays for it (VND)
    lot_restricted: np.ndarray  # per lot: kept to some communes

    @property
    def n_hubs(self) -> int:
        return len(self.hub_status)


def build_routes(groups: pd.DataFrame, lots: pd.DataFrame, commune_codes: np.ndarray,
                 policy: RoundPolicy) -> Routes:
    """Routes for lots with stock; `groups` has commune, status, needs (canonical text).

    With a `keep` column (re-plan), groups whose keep is not 0 hold kept households
    (keep = 1 + their kept lot) and share hubs only with groups of the same kept lot,
    so the model can count who got their kept lot.
    """
    key = ["status", "needs", "keep"] if "keep" in groups.columns else ["status", "needs"]
    hubs = groups[key].drop_duplicates().sort_values(key, ignore_index=True)
    hubs["hub"] = np.arange(len(hubs))
    group_hub = groups[key].merge(hubs, on=key, how="left")["hub"].to_numpy(np.int64)
    hub_status = hubs["status"].to_numpy(np.int64)
    hub_needs = [set(t.split(";")) - {""} for t in hubs["needs"]]
    g_commune = groups["commune"].to_numpy(np.int64)

    features = [set(t.split(";")) - {""} for t in lots["features"]]
    allowed_communes = [set(t.split(";")) - {""} for t in lots["allowed_communes"]]
    allowed_statuses = [set(t.split(";")) - {""} for t in lots["allowed_statuses"]]
    quantity = lots["quantity"].to_numpy(np.int64)
    restricted = np.array([bool(a) for a in allowed_communes], dtype=bool)
    route_lot, route_node = [], []
    for lot in range(len(lots)):
        if quantity[lot] <= 0:
            continue
        status_ok = np.array([not allowed_statuses[lot] or STATUSES[s] in allowed_statuses[lot]
                              for s in range(len(STATUSES))])
        hub_ok = status_ok[hub_status] & np.array([n <= features[lot] for n in hub_needs],
                                                  dtype=bool)
        if not restricted[lot]:
            chosen = np.flatnonzero(hub_ok)
        else:
            allowed = np.isin(commune_codes, list(allowed_communes[lot]))
            chosen = len(hub_status) + np.flatnonzero(hub_ok[group_hub] & allowed[g_commune])
        route_lot.append(np.full(len(chosen), lot, np.int64))
        route_node.append(chosen.astype(np.int64))
    r_lot = np.concatenate(route_lot) if route_lot else np.zeros(0, np.int64)
    r_node = np.concatenate(route_node) if route_node else np.zeros(0, np.int64)
    order = np.lexsort((r_lot, r_node))
    r_lot, r_node = r_lot[order], r_node[order]
    n_hubs = len(hub_status)
    via_hub = r_node < n_hubs
    status = np.empty(len(r_node), np.int64)
    status[via_hub] = hub_status[r_node[via_hub]]
    status[~via_hub] = groups["status"].to_numpy(np.int64)[r_node[~via_hub] - n_hubs]
    net = (lots["unit_price_vnd"] - lots["sponsor_subsidy_vnd"]).to_numpy(np.int64)[r_lot]
    copay_by_status = np.array([policy.copay_vnd[s] for s in STATUSES], dtype=np.int64)
    copay = copay_by_status[status]
    return Routes(group_hub=group_hub, hub_status=hub_status,
                  hub_needs=hubs["needs"].to_numpy(object), lot=r_lot, node=r_node,
                  cost=np.maximum(0, net - copay).astype(np.int64),
                  copay=np.minimum(copay, net).astype(np.int64), lot_restricted=restricted)


def route_of(routes: Routes, group: np.ndarray, lot: np.ndarray) -> np.ndarray:
    """The route giving `lot` to a household of `group`, per row; -1 if the lot does not suit."""
    node = np.where(routes.lot_restricted[lot], routes.n_hubs + group, routes.group_hub[group])
    key = routes.lot * (routes.n_hubs + len(routes.group_hub) + 1) + routes.node
    query = lot * (routes.n_hubs + len(routes.group_hub) + 1) + node
    if not len(key):
        return np.full(len(query), -1, np.int64)
    order = np.argsort(key, kind="stable")
    hit = order[np.minimum(np.searchsorted(key[order], query), len(key) - 1)]
    return np.where(key[hit] == query, hit, -1).astype(np.int64)


def node_routes(routes: Routes, node: int) -> slice:
    """The routes into one node (routes are sorted by node, then lot)."""
    return slice(int(np.searchsorted(routes.node, node, side="left")),
                 int(np.searchsorted(routes.node, node, side="right")))


def group_options(routes: Routes, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Lots that suit a group, and their public cost."""
    via_hub = node_routes(routes, int(routes.group_hub[group]))
    direct = node_routes(routes, routes.n_hubs + group)
    return (np.concatenate([routes.lot[via_hub], routes.lot[direct]]),
            np.concatenate([routes.cost[via_hub], routes.cost[direct]]))


def group_lot_pairs(routes: Routes, groups: np.ndarray) -> pd.DataFrame:
    """Every (group, lot) that suits, for the given groups: columns group, lot, cost, copay.

    This is the per-group listing the hubs avoid; use it only for small sets of groups.
    """
    table = pd.DataFrame({"node": routes.node, "lot": routes.lot, "cost": routes.cost,
                          "copay": routes.copay})
    wanted = pd.DataFrame({"group": np.asarray(groups, np.int64)})
    via_hub = wanted.assign(node=routes.group_hub[wanted["group"]]).merge(table, on="node")
    direct = wanted.assign(node=routes.n_hubs + wanted["group"]).merge(table, on="node")
    pairs = pd.concat([via_hub, direct], ignore_index=True).drop(columns="node")
    return pairs.sort_values(["group", "lot"], ignore_index=True)


def groups_with_lots(routes: Routes) -> np.ndarray:
    """Per group: at least one lot suits it."""
    hub_has = np.zeros(routes.n_hubs, bool)
    hub_has[routes.node[routes.node < routes.n_hubs]] = True
    has = hub_has[routes.group_hub] if len(routes.group_hub) else np.zeros(0, bool)
    direct = routes.node[routes.node >= routes.n_hubs] - routes.n_hubs
    has[direct] = True
    return has
