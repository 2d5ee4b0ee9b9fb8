"""The queue table keeps DataTable's row-order and offset caches across cell
updates, and drops them whenever rows are added, removed or re-sorted."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from tui.widgets.ticket_table import TicketTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TicketTable()


def _order(table: TicketTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def _truth(table: TicketTable) -> list[str]:
    return [str(table._row_locations.get_key(i).value) for i in range(table.row_count)]


async def test_row_order_stays_true_through_updates_removals_and_sorts() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(TicketTable)
        for i in range(5):
            table.add_row("x", "", "", "", "", "", "", "", key=str(i))
        await pilot.pause()
        assert _order(table) == _truth(table) == ["0", "1", "2", "3", "4"]
        cached: Any = table.ordered_rows
        table.update_cell("2", "status", "changed")
        assert table.ordered_rows is cached  # a cell update keeps the cache
        assert len(table._y_offsets) == 5
        table.remove_row("1")
        assert _order(table) == _truth(table) == ["0", "2", "3", "4"]
        assert [str(k.value) for k, _ in table._y_offsets] == ["0", "2", "3", "4"]
        table.sort("status", reverse=True)
        assert _order(table) == _truth(table)
        assert _order(table)[0] == "2"  # "changed" sorts after "" in reverse
        table.add_row("y", "", "", "", "", "", "", "", key="9")
        assert _order(table) == _truth(table) and _order(table)[-1] == "9"
        table.clear()
        assert _order(table) == [] and table._y_offsets == []
